import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateRawSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FORMATS_DIR, sharedFixturesMissing } from "../../test/helpers/shared-fixtures.ts";
import { ApiError } from "../contracts/errors.ts";
import { frameNpyHeader } from "../npy/header.ts";
import type { BetaLimits } from "./beta-file.ts";
import { type OpenBetaFileOptions, openBetaFile } from "./open-beta-file.ts";
import { summarizeBetas } from "./summarize.ts";
import { random } from "./testing.ts";

const LIMITS: BetaLimits = { maxDecodedBytes: 8 << 20 };
let dir = "";
let counter = 0;

function npyBytes(header: string, data: Uint8Array): Buffer {
  return Buffer.concat([frameNpyHeader(header), data]);
}

function niftiHeader(dims: number[], datatype: number, bitpix: number, voxOffset = 352): Buffer {
  const header = Buffer.alloc(352);
  header.writeInt32LE(348, 0);
  header.writeInt16LE(dims.length, 40);
  for (const [i, d] of dims.entries()) header.writeInt16LE(d, 42 + 2 * i);
  header.writeInt16LE(datatype, 70);
  header.writeInt16LE(bitpix, 72);
  header.writeFloatLE(voxOffset, 108);
  header.write("n+1\0", 344, "latin1");
  return header;
}

/** Opens and reads a file completely; returns the ApiError it ended in, or null when it read. */
async function readFully(
  bytes: Uint8Array,
  name: string,
  options: OpenBetaFileOptions = {},
): Promise<ApiError | null> {
  const path = join(dir, `${counter++}-${name}`);
  writeFileSync(path, bytes);
  try {
    const file = await openBetaFile(path, { limits: LIMITS, ...options });
    await summarizeBetas(file);
    await file.close();
    return null;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return error;
  } finally {
    rmSync(path, { force: true });
  }
}

function expectClientError(error: ApiError | null): void {
  if (!error) return;
  expect(error.status, `${error.code}: ${error.message}`).toBeGreaterThanOrEqual(400);
  expect(error.status).toBeLessThan(500);
  expect(error.message.length).toBeGreaterThan(20);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "betas-fuzz-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const title = "damaged and hostile files end in a 4xx ApiError";
describe(
  sharedFixturesMissing ? `${title} (real-file seeds SKIPPED: no shared/ fixtures beside the clone)` : title,
  () => {
    // The real files seed the fuzz where the shared fixtures are laid (always in CI); the generated ones always.
    const real = (name: string): [string, Buffer][] =>
      sharedFixturesMissing ? [] : [[name, readFileSync(join(FORMATS_DIR, name))]];
    const seeds: [string, Buffer][] = [
      ...real("anatomical.nii"),
      ...real("standard.nii.gz"),
      ...real("example_nifti2.nii.gz"),
      [
        "betas.npy",
        npyBytes("{'descr': '>f4', 'fortran_order': True, 'shape': (3, 50), }", new Uint8Array(600).fill(7)),
      ],
      ...real("bug-1310.npz"),
      ...real("testhdf5_7.4_GLNX86.mat"),
      [
        "betas.json",
        Buffer.from(
          JSON.stringify([
            [1, 2, 3],
            [4, 5, 6],
          ]),
        ),
      ],
    ];

    it.each(seeds)("%s: truncated, mutated and random bytes (seeded)", async (name, seed) => {
      const next = random(seed.length);
      const started = Date.now();
      let peak = 0;
      for (let round = 0; round < 15; round++) {
        const truncated = seed.subarray(0, Math.floor(next() * seed.length));
        const mutated = Buffer.from(seed);
        const span = Math.min(seed.length, 600);
        for (let k = 1 + Math.floor(next() * 8); k > 0; k--)
          mutated[Math.floor(next() * span)] = Math.floor(next() * 256);
        const noise = Buffer.from(
          Array.from({ length: Math.floor(next() * 4096) }, () => Math.floor(next() * 256)),
        );
        const randomTail = Buffer.concat([seed.subarray(0, 8), noise]);
        for (const bytes of [truncated, mutated, randomTail]) {
          expectClientError(
            await readFully(bytes, name, { dataset: name.endsWith(".mat") ? "testdouble" : undefined }),
          );
          peak = Math.max(peak, process.memoryUsage().arrayBuffers);
        }
      }
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(peak).toBeLessThan(8 * LIMITS.maxDecodedBytes);
    });

    it("refuses headers claiming terabytes before allocating", async () => {
      const nifti = await readFully(niftiHeader([32767, 32767, 32767, 32767], 16, 32), "huge.nii");
      expect(nifti?.code).toBe("file_too_large");
      const npy = await readFully(
        npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }", new Uint8Array(16)),
        "huge.npy",
      );
      expect(npy?.code).toBe("file_too_large");
      const raw = await readFully(new Uint8Array(16), "huge.f32", { format: "raw", rawShape: [30000, 1e9] });
      expect(raw?.code).toBe("file_too_large");
    });

    it("stops a gzip bomb without inflating it", async () => {
      const zeros = gzipSync(Buffer.alloc(256 << 20), { level: 9 });
      const started = Date.now();
      expect((await readFully(zeros, "betas.nii.gz"))?.code).toBe("unsupported_format");
      // A real header whose vox_offset and data each fit the cap, but together inflate past it.
      const voxOffset = 7.5 * 2 ** 20;
      const header = niftiHeader([64, 64, 64], 16, 32, voxOffset);
      const bomb = gzipSync(Buffer.concat([header, Buffer.alloc(voxOffset - 352 + 64 ** 3 * 4)]));
      expect((await readFully(bomb, "betas.nii.gz"))?.code).toBe("decompression_bomb");
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it("refuses a zip member that expands past the cap, or past what it declares", async () => {
      const npy = npyBytes(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4194304,), }",
        new Uint8Array(16 << 20),
      );
      const deflated = deflateRawSync(npy);
      const zip = (declaredSize: number) => {
        const name = Buffer.from("betas.npy");
        const local = Buffer.alloc(30);
        local.writeUInt32LE(0x04034b50, 0);
        local.writeUInt16LE(20, 4);
        local.writeUInt16LE(8, 8);
        local.writeUInt32LE(deflated.length, 18);
        local.writeUInt32LE(declaredSize, 22);
        local.writeUInt16LE(name.length, 26);
        const central = Buffer.alloc(46);
        central.writeUInt32LE(0x02014b50, 0);
        central.writeUInt16LE(20, 4);
        central.writeUInt16LE(20, 6);
        central.writeUInt16LE(8, 10);
        central.writeUInt32LE(deflated.length, 20);
        central.writeUInt32LE(declaredSize, 24);
        central.writeUInt16LE(name.length, 28);
        const end = Buffer.alloc(22);
        end.writeUInt32LE(0x06054b50, 0);
        end.writeUInt16LE(1, 8);
        end.writeUInt16LE(1, 10);
        end.writeUInt32LE(central.length + name.length, 12);
        end.writeUInt32LE(local.length + name.length + deflated.length, 16);
        return Buffer.concat([local, name, deflated, central, name, end]);
      };
      expect((await readFully(zip(npy.length), "betas.npz"))?.code).toBe("decompression_bomb");
      const lying = await readFully(zip(1024), "betas.npz", { limits: { maxDecodedBytes: 64 << 20 } });
      expect(lying?.code).toMatch(/decompression_bomb|truncated_file/);
    });
  },
);
