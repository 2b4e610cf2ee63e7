import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { ApiError } from "../contracts/errors.ts";
import type { StoredArray } from "./array-layout.ts";
import { ByteReader } from "./byte-reader.ts";
import type { ElementType, Scaling } from "./element-type.ts";
import { type StreamedArray, streamedBlocks, streamedGather } from "./streamed-array.ts";
import { collect, random } from "./testing.ts";

const TRIALS = 5;
const PER_TRIAL = 301;
const trialMajor: StoredArray = { dims: [TRIALS, PER_TRIAL], roles: ["t", "v"] };
/** Trials on the last axis: numpy's betas[mask].T saved as is (Fortran order), or voxels_by_trials. */
const trialsLast: StoredArray = { dims: [PER_TRIAL, TRIALS], roles: ["v", "t"] };
const LIMITS = { maxDecodedBytes: 1 << 24 };

/** The bytes cut into pieces of 1 to `largest` bytes, so elements and runs straddle chunk edges. */
function chunked(bytes: Buffer, largest: number, next: () => number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(next() * largest);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

function arrayOver(
  chunks: Buffer[],
  type: ElementType,
  scaling: Scaling | null,
  storage: StoredArray,
): StreamedArray {
  return {
    type,
    storage,
    scaling,
    open: async () => new ByteReader(Readable.from(chunks), Number.POSITIVE_INFINITY),
  };
}

/** The same array as a plain file, which can also be read into place. */
function fileOver(
  bytes: Buffer,
  type: ElementType,
  scaling: Scaling | null,
  storage: StoredArray,
): StreamedArray {
  return {
    ...arrayOver([bytes], type, scaling, storage),
    readAt: async (target, position) => {
      const part = bytes.subarray(position, position + target.length);
      target.set(part);
      return part.length;
    },
  };
}

/** The reference: every trial decoded whole in blocks, then indexed. */
async function gatheredFromBlocks(array: StreamedArray, offsets: Int32Array): Promise<Float32Array> {
  const out = new Float32Array(TRIALS * offsets.length);
  for (const block of await collect(streamedBlocks(array, LIMITS))) {
    for (let k = 0; k < block.count; k++) {
      for (let i = 0; i < offsets.length; i++) {
        out[(block.firstTrial + k) * offsets.length + i] = block.values[k * block.trialStride + offsets[i]!]!;
      }
    }
  }
  return out;
}

const next = random(17);
const data = Buffer.alloc(TRIALS * PER_TRIAL * 8);
for (let i = 0; i < data.length; i++) data[i] = Math.floor(next() * 256);
// A float16 exponent of 31 is NaN or infinite, which compare unequal; keep them out of the data.
const halves = Buffer.from(data);
for (let i = 1; i < halves.length; i += 2) halves[i] = halves[i]! & 0xbb;

const types: [string, ElementType, Scaling | null, Buffer][] = [
  ["<i2", { kind: "i", bytes: 2, littleEndian: true }, null, data],
  [">i2 scaled", { kind: "i", bytes: 2, littleEndian: false }, { slope: 0.37, inter: -4 }, data],
  ["|u1", { kind: "u", bytes: 1, littleEndian: true }, null, data],
  ["<f4 (copied straight into the output)", { kind: "f", bytes: 4, littleEndian: true }, null, halves],
  [">f4", { kind: "f", bytes: 4, littleEndian: false }, null, halves],
  ["<f8", { kind: "f", bytes: 8, littleEndian: true }, null, halves],
  ["<f2", { kind: "f", bytes: 2, littleEndian: true }, null, halves],
  ["<i8 scaled", { kind: "i", bytes: 8, littleEndian: true }, { slope: 2, inter: 1 }, data],
];

const shuffled = Int32Array.from({ length: PER_TRIAL }, (_, i) => i).sort(() => next() - 0.5);
const offsetSets: [string, Int32Array][] = [
  ["every element in order", Int32Array.from({ length: PER_TRIAL }, (_, i) => i)],
  ["a mask-like subset out of file order", shuffled.slice(0, 97)],
  ["runs in order with gaps", Int32Array.from([0, 1, 2, 3, 40, 41, 42, 200, 201, 300])],
];

describe("streamedGather: masked values straight from the stream's chunks", () => {
  for (const [layout, storage, stride] of [
    ["trial-major", trialMajor, 1],
    ["trials last", trialsLast, TRIALS],
  ] as const) {
    for (const [name, type, scaling, source] of types) {
      const bytes = source.subarray(0, TRIALS * PER_TRIAL * type.bytes);
      for (const [what, voxels] of offsetSets) {
        it(`${layout} ${name}, ${what}: the same values as decoding the whole array`, async () => {
          const offsets = voxels.map((v) => v * stride);
          const expected = await gatheredFromBlocks(arrayOver([bytes], type, scaling, storage), offsets);
          for (const largest of [3, 17, 1000]) {
            const array = arrayOver(chunked(bytes, largest, random(largest)), type, scaling, storage);
            expect(await streamedGather(array, offsets)).toEqual(expected);
          }
          expect(await streamedGather(fileOver(bytes, type, scaling, storage), offsets)).toEqual(expected);
        });
      }
    }
  }

  it("refuses a stream that ends inside a trial, naming the trial", async () => {
    const type: ElementType = { kind: "i", bytes: 2, littleEndian: true };
    const cut = data.subarray(0, (3 * PER_TRIAL + 10) * 2);
    const array = arrayOver(chunked(cut, 50, random(3)), type, null, trialMajor);
    const error = (await streamedGather(array, shuffled).catch((e: unknown) => e)) as ApiError;
    expect(error.code).toBe("truncated_file");
    expect(error.message).toMatch(/trial 4 of 5/);
  });

  it("refuses a plain file that ends inside the last voxel's trials, read in place or streamed", async () => {
    const type: ElementType = { kind: "f", bytes: 4, littleEndian: true };
    const cut = halves.subarray(0, (TRIALS * PER_TRIAL - 2) * 4);
    const every = Int32Array.from({ length: PER_TRIAL }, (_, i) => i * TRIALS);
    for (const array of [fileOver(cut, type, null, trialsLast), arrayOver([cut], type, null, trialsLast)]) {
      const error = (await streamedGather(array, every).catch((e: unknown) => e)) as ApiError;
      expect(error.code).toBe("truncated_file");
      expect(error.message).toMatch(/last voxels/);
    }
  });
});
