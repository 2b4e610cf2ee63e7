/**
 * The wire protocol between the API and the GPU worker (docs/deployment.md, "Worker protocol"): header
 * names, the binary framing of named output tensors, and the bearer token both sides derive from
 * SIGNING_SECRET. Shared by gpu-worker/server (encodes) and core/inference/http-client.ts (decodes).
 * Tensor bytes are little-endian float32, as on every host we run on (x86-64, arm64).
 */
import type { Tensor } from "./inference.ts";

/** Request: the body's shape, e.g. `4,15724`. Mask response: the grid, e.g. `81,104,83`. */
export const SHAPE_HEADER = "x-tensor-shape";
/** Request: the outputs wanted, comma-separated, e.g. `backbone,retrieval`. */
export const OUTPUTS_HEADER = "x-outputs";
export const TIMING_HEADERS = {
  queue_ms: "x-queue-ms",
  run_ms: "x-run-ms",
  batch_size: "x-batch-size",
} as const;

export const TENSOR_BODY_TYPE = "application/octet-stream";
export const TENSOR_FRAME_TYPE = "application/x-mindeye-tensors";

export interface FramedTensor {
  name: string;
  dtype: "float32";
  shape: number[];
  /** From the start of the data section; always a multiple of 8. */
  byteOffset: number;
  byteLength: number;
}

const ALIGN = 8;
const alignUp = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/**
 * Frame: `uint32 LE n` | `n bytes of UTF-8 JSON {"tensors": FramedTensor[]}`, space-padded so that
 * 4 + n is a multiple of 8 | the data section: each tensor's raw bytes at its byteOffset, zero-padded
 * to 8. The alignment lets a reader view the data as Float32Arrays without copying.
 */
export function encodeTensorFrame(tensors: Record<string, Tensor>): Uint8Array<ArrayBuffer> {
  let offset = 0;
  const framed = Object.entries(tensors).map(([name, t]): FramedTensor => {
    const entry = {
      name,
      dtype: "float32" as const,
      shape: t.shape,
      byteOffset: offset,
      byteLength: t.data.byteLength,
    };
    offset = alignUp(offset + t.data.byteLength);
    return entry;
  });
  const json = new TextEncoder().encode(JSON.stringify({ tensors: framed }));
  const dataStart = alignUp(4 + json.length);
  const frame = new Uint8Array(dataStart + offset).fill(0x20, 4, dataStart);
  new DataView(frame.buffer).setUint32(0, dataStart - 4, true);
  frame.set(json, 4);
  for (const entry of framed) {
    const { data } = tensors[entry.name]!;
    frame.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), dataStart + entry.byteOffset);
  }
  return frame;
}

/** Reads a frame back into tensors (views on `body`); throws a plain Error naming what is malformed. */
export function decodeTensorFrame(body: ArrayBuffer): Record<string, Tensor> {
  if (body.byteLength < 4) throw new Error(`tensor frame of ${body.byteLength} bytes has no header length`);
  const headerLength = new DataView(body).getUint32(0, true);
  const dataStart = 4 + headerLength;
  if (dataStart > body.byteLength || dataStart % ALIGN !== 0) {
    throw new Error(
      `tensor frame header length ${headerLength} is not valid for a ${body.byteLength}-byte body`,
    );
  }
  const { tensors } = JSON.parse(new TextDecoder().decode(new Uint8Array(body, 4, headerLength))) as {
    tensors: FramedTensor[];
  };
  const out: Record<string, Tensor> = {};
  for (const t of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.dtype !== "float32" || t.byteLength !== count * 4 || t.byteOffset % ALIGN !== 0) {
      throw new Error(
        `tensor ${t.name}: ${t.byteLength} bytes of ${t.dtype} do not fit shape [${t.shape.join(", ")}]`,
      );
    }
    if (dataStart + t.byteOffset + t.byteLength > body.byteLength)
      throw new Error(`tensor ${t.name} overruns the body`);
    out[t.name] = { data: new Float32Array(body, dataStart + t.byteOffset, count), shape: t.shape };
  }
  return out;
}

/** `a,b,c` of positive integers, or null when the text is anything else. */
export function parseShape(text: string | undefined | null): number[] | null {
  const compact = text?.replaceAll(" ", "") ?? "";
  if (!/^\d+(,\d+)*$/.test(compact)) return null;
  const shape = compact.split(",").map(Number);
  return shape.every((d) => Number.isSafeInteger(d) && d > 0) ? shape : null;
}

/**
 * The worker's bearer token: HMAC-SHA256(SIGNING_SECRET, purpose), base64url. Derived rather than the
 * secret itself, so a leaked worker token cannot sign presigned URLs or anything else the secret signs.
 */
export async function workerAuthToken(signingSecret: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(signingSecret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode("mindeye-worker-auth-v1"));
  return btoa(String.fromCharCode(...new Uint8Array(mac)))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}
