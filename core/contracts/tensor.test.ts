import { describe, expect, it } from "vitest";
import type { ApiError } from "./errors.ts";
import { decodeNpyBody, decodeTensor, encodeNpy, encodeTensor, TensorJsonSchema } from "./tensor.ts";

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

  it("writes NPY that its own reader (and numpy) reads back, 64-byte aligned", async () => {
    const npy = encodeNpy(data, shape);
    expect(Buffer.from(npy.subarray(0, 6)).toString("latin1")).toBe("\x93NUMPY");
    expect((npy.length - data.byteLength) % 64).toBe(0);
    expect(await decodeNpyBody(npy, { maxDecodedBytes: 1 << 20 })).toEqual({ data, shape });
  });

  it("decodes Fortran-order NPY bodies into C order", async () => {
    const header = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }".padEnd(117, " ") + "\n";
    const preamble = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length, 0]);
    const fortran = Float32Array.from([0.5, 4, -1.25, 5, 3, 6]);
    const body = Buffer.concat([preamble, Buffer.from(header, "latin1"), Buffer.from(fortran.buffer)]);
    expect(await decodeNpyBody(body, { maxDecodedBytes: 1 << 20 })).toEqual({ data, shape });
  });

  it("refuses pickled NPY bodies", async () => {
    const header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }".padEnd(117, " ") + "\n";
    const body = Buffer.concat([
      Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 118, 0]),
      Buffer.from(header, "latin1"),
    ]);
    await expect(decodeNpyBody(body, { maxDecodedBytes: 1 << 20 })).rejects.toMatchObject({
      code: "unsupported_format",
    });
  });
});
