import { describe, expect, it } from "vitest";
import { encodeNpy, frameNpyHeader } from "../npy/index.ts";
import { decodeNpyBody } from "./npy.ts";

const data = Float32Array.from([0.5, -1.25, 3, 4, 5, 6]);
const shape = [2, 3];
const LIMITS = { maxDecodedBytes: 1 << 20 };

describe("decodeNpyBody: application/x-npy bodies to C-order float32", () => {
  it("reads back what encodeNpy writes", async () => {
    expect(await decodeNpyBody(encodeNpy(data, shape), LIMITS)).toEqual({ data, shape });
  });

  it("decodes Fortran-order and big-endian bodies into C order", async () => {
    const fortran = Float32Array.from([0.5, 4, -1.25, 5, 3, 6]);
    const body = Buffer.concat([
      frameNpyHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }"),
      Buffer.from(fortran.buffer),
    ]);
    expect(await decodeNpyBody(body, LIMITS)).toEqual({ data, shape });
    const big = Buffer.from(data.buffer.slice(0)).swap32();
    const bigBody = Buffer.concat([
      frameNpyHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }"),
      big,
    ]);
    expect(await decodeNpyBody(bigBody, LIMITS)).toEqual({ data, shape });
  });

  it("refuses pickled bodies, saying why", async () => {
    const body = frameNpyHeader("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }");
    await expect(decodeNpyBody(body, LIMITS)).rejects.toMatchObject({
      code: "unsupported_format",
      message: expect.stringMatching(/pickle/),
    });
  });
});
