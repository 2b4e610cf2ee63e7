import { z } from "zod";
import { flattenNestedNumbers } from "../betas/nested-array.ts";
import { closedObject } from "./closed-object.ts";
import { ApiError } from "./errors.ts";

/** A tensor in a JSON body: nested numbers, or little-endian float32 bytes in base64 with their shape. */
export const TensorJsonSchema = z.union([
  closedObject({
    values: z.array(z.unknown()).min(1).meta({ description: "The numbers, nested one array per axis" }),
  }).meta({
    description: "Nested JSON arrays of numbers in C order, e.g. [[0.1, -0.3, ...], ...]",
  }),
  closedObject({
    base64: z
      .string()
      .regex(/^[A-Za-z0-9+/]*={0,2}$/, "standard base64")
      .meta({ description: "Standard base64 of the little-endian float32 bytes, C order" }),
    dtype: z.literal("float32").meta({ description: "The only dtype taken: float32" }),
    shape: z
      .array(z.number().int().positive())
      .min(1)
      .meta({ description: "The tensor's shape; its product times 4 is the byte count" }),
  }).meta({ description: "Little-endian float32 bytes, C order, base64-encoded" }),
]);
export type TensorJson = z.infer<typeof TensorJsonSchema>;

export interface DecodedTensor {
  data: Float32Array;
  shape: number[];
}

/** Decodes a tensor body; `maxValues` bounds what a request may send inline. */
export function decodeTensor(tensor: TensorJson, options: { maxValues: number }): DecodedTensor {
  if ("values" in tensor) {
    const { values, shape } = flattenNestedNumbers(tensor.values, {
      code: "invalid_request",
      maxValues: options.maxValues,
    });
    return { data: values, shape };
  }
  const count = tensor.shape.reduce((product, dim) => product * dim, 1);
  if (count > options.maxValues) {
    throw new ApiError(
      "payload_too_large",
      `${count} values is more than the ${options.maxValues} allowed inline. Upload a file.`,
    );
  }
  const bytes = Buffer.from(tensor.base64, "base64");
  if (bytes.length !== count * 4) {
    throw new ApiError(
      "invalid_request",
      `shape (${tensor.shape.join(", ")}) needs ${count * 4} bytes of float32; the base64 holds ${bytes.length}. ` +
        "Encode with base64.b64encode(x.astype('<f4').tobytes()).",
    );
  }
  const data = new Float32Array(count);
  new Uint8Array(data.buffer).set(bytes);
  return { data, shape: [...tensor.shape] };
}

function nest(data: Float32Array, shape: readonly number[], offset: number, depth: number): unknown[] {
  const size = shape[depth]!;
  if (depth === shape.length - 1) return Array.from(data.subarray(offset, offset + size));
  const inner = shape.slice(depth + 1).reduce((product, dim) => product * dim, 1);
  return Array.from({ length: size }, (_, i) => nest(data, shape, offset + i * inner, depth + 1));
}

/** Encodes a C-order float32 tensor for a JSON response. */
export function encodeTensor(data: Float32Array, shape: number[], encoding: "json" | "base64"): TensorJson {
  if (encoding === "json") return { values: nest(data, shape, 0, 0) };
  return {
    base64: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64"),
    dtype: "float32",
    shape,
  };
}
