import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEBIAN_PYTHON, hasDebianPython } from "../betas/testing.ts";
import type { ApiError } from "../contracts/errors.ts";
import { encodeNpy } from "./encode.ts";
import { encodeNpyHeader, frameNpyHeader, parseNpyHeader, readNpyHeader } from "./header.ts";
import { parseNpy } from "./read.ts";

const data = Float32Array.from([0.5, -1.25, 3, 4, 5, 6]);

function errorOf(f: () => unknown): ApiError {
  try {
    f();
  } catch (error) {
    return error as ApiError;
  }
  throw new Error("expected an error");
}

describe("NPY headers", () => {
  it("parses what it writes, data on a 64-byte boundary, from bytes and from a stream", async () => {
    const header = encodeNpyHeader("<f2", [7, 768]);
    expect(header.length % 64).toBe(0);
    const expected = { descr: "<f2", fortranOrder: false, shape: [7, 768], dataOffset: header.length };
    expect(parseNpyHeader(header)).toEqual(expected);
    let at = 0;
    const reader = {
      read: async (count: number) => {
        at += count;
        return header.subarray(at - count, at);
      },
    };
    expect(await readNpyHeader(reader)).toEqual(expected);
    expect(parseNpyHeader(encodeNpyHeader("|u1", [5])).shape).toEqual([5]);
  });

  it("refuses what is not an NPY header, naming what is wrong and the file when given", () => {
    expect(errorOf(() => parseNpyHeader(Buffer.from("PK\x03\x04 not numpy")))).toMatchObject({
      code: "invalid_file",
      message: expect.stringMatching(/does not start with \\x93NUMPY/),
    });
    const header = encodeNpyHeader("<f4", [2, 3]);
    expect(errorOf(() => parseNpyHeader(header.subarray(0, 40), "img_emb_3.npy"))).toMatchObject({
      code: "truncated_file",
      message: "img_emb_3.npy: the .npy file ends inside its header.",
    });
    const v9 = Buffer.from(header);
    v9[6] = 9;
    expect(errorOf(() => parseNpyHeader(v9)).message).toMatch(/version 9 is not 1, 2 or 3/);
    const record = frameNpyHeader("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }");
    expect(errorOf(() => parseNpyHeader(record)).code).toBe("unsupported_format");
    const noShape = frameNpyHeader("{'descr': '<f4', 'fortran_order': False, }");
    expect(errorOf(() => parseNpyHeader(noShape)).message).toMatch(/no 'shape'/);
  });
});

describe("float32 .npy files", () => {
  it("round-trips float32 through encodeNpy and parseNpy", () => {
    expect(parseNpy(encodeNpy(data, [2, 3]))).toEqual({ dtype: "float32", shape: [2, 3], data });
  });

  it("refuses other dtypes, Fortran order and wrong data lengths by name, never converting", () => {
    const f64 = Buffer.concat([encodeNpyHeader("<f8", [2]), Buffer.alloc(16)]);
    expect(errorOf(() => parseNpy(f64, "eps.npy")).message).toBe(
      "eps.npy: dtype <f8, only little-endian float32 (<f4) is supported",
    );
    const fortran = Buffer.concat([
      frameNpyHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }"),
      Buffer.from(data.buffer),
    ]);
    expect(errorOf(() => parseNpy(fortran)).message).toMatch(/Fortran-ordered/);
    const short = encodeNpy(data, [2, 3]).subarray(0, -4);
    expect(errorOf(() => parseNpy(short)).message).toMatch(/20 data bytes for shape \[2,3\] \(need 24\)/);
  });
});

const dir = mkdtempSync(join(tmpdir(), "npy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// CI installs Debian's numpy (.ci/run), so there a missing one fails instead of skipping.
describe.skipIf(!hasDebianPython() && !process.env.CI)(
  "numpy reads what encodeNpy writes (SKIPPED outside CI when /usr/bin/python3 lacks numpy)",
  () => {
    it("float32 and uint8 arrays load with their dtype, shape and values", () => {
      writeFileSync(join(dir, "f4.npy"), encodeNpy(data, [2, 3]));
      writeFileSync(join(dir, "u1.npy"), encodeNpy(Uint8Array.from([0, 1, 255]), [3]));
      const report = execFileSync(
        DEBIAN_PYTHON,
        [
          "-c",
          "import json, sys, numpy as np\n" +
            "print(json.dumps([[str(a.dtype), list(a.shape), a.ravel().tolist(), a.flags.c_contiguous] " +
            "for a in (np.load(p, allow_pickle=False) for p in sys.argv[1:])]))",
          join(dir, "f4.npy"),
          join(dir, "u1.npy"),
        ],
        { encoding: "utf8" },
      );
      expect(JSON.parse(report)).toEqual([
        ["float32", [2, 3], Array.from(data), true],
        ["uint8", [3], [0, 1, 255], true],
      ]);
    });
  },
);
