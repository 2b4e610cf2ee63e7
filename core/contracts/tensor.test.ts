import { describe, expect, it } from "vitest";
import type { ApiError } from "./errors.ts";
import { decodeTensor, encodeTensor, TensorJsonSchema } from "./tensor.ts";

const data = Float32Array.from([0.5, -1.25, 3, 4, 5, 6]);
const shape = [2, 3];

describe("tensor bodies", () => {
  it("round-trips JSON values and base64 float32", () => {
    for (const encoding of ["json", "base64"] as const) {
      const body = TensorJsonSchema.parse(JSON.parse(JSON.stringify(encodeTensor(data, shape, encoding))));
      expect(decodeTensor(body, { maxValues: 100 })).toEqual({ data, shape });
    }
    expect(encodeTensor(data, shape, "json")).toEqual({
      values: [
        [0.5, -1.25, 3],
        [4, 5, 6],
      ],
    });
  });

  it("reads base64 as little-endian float32, as numpy's tobytes() writes it", () => {
    const base64 = Buffer.from(Float32Array.from([1, 2]).buffer).toString("base64");
    expect(decodeTensor({ base64, dtype: "float32", shape: [2] }, { maxValues: 10 }).data).toEqual(
      Float32Array.from([1, 2]),
    );
  });

  it("refuses ragged arrays, non-numbers, wrong byte counts and oversize tensors", () => {
    const codeOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as ApiError).code;
      }
    };
    expect(codeOf(() => decodeTensor({ values: [[1, 2], [3]] }, { maxValues: 10 }))).toBe("invalid_request");
    expect(codeOf(() => decodeTensor({ values: [[1, "2"]] }, { maxValues: 10 }))).toBe("invalid_request");
    expect(
      codeOf(() => decodeTensor({ base64: "AAAA", dtype: "float32", shape: [2] }, { maxValues: 10 })),
    ).toBe("invalid_request");
    expect(codeOf(() => decodeTensor({ values: [1, 2, 3] }, { maxValues: 2 }))).toBe("payload_too_large");
    expect(TensorJsonSchema.safeParse({ base64: "AAAA", dtype: "float64", shape: [1] }).success).toBe(false);
  });
});
