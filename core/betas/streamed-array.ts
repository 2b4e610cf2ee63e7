import { ApiError } from "../contracts/errors.ts";
import {
  type StoredArray,
  trialCount,
  trialStride,
  trialsAreContiguous,
  voxelsPerTrial,
} from "./array-layout.ts";
import type { BetaFile, BetaLimits, TrialBlock } from "./beta-file.ts";
import type { ByteReader } from "./byte-reader.ts";
import { decodeElements, decodeOwnedInto, type ElementType, type Scaling } from "./element-type.ts";
import { transpose } from "./transpose.ts";

/** Bytes decoded per block when streaming: large enough to be fast, small enough to stay flat in memory. */
const BLOCK_BYTES = 8 << 20;

export interface StreamedArray {
  /** Opens the data, positioned at its first byte. */
  open(): Promise<ByteReader>;
  type: ElementType;
  storage: StoredArray;
  scaling: Scaling | null;
  /**
   * Plain files only: reads data bytes from `position` (0 is the data's first byte) straight into
   * `target`, returning how many there were.
   */
  readAt?(target: Uint8Array, position: number): Promise<number>;
}

/** Refuses, before reading any data, an array whose header claims more than the limit allows. */
export function checkDeclaredSize(
  dims: readonly number[],
  bytesPerElement: number,
  limits: BetaLimits,
): void {
  const elements = dims.reduce((product, dim) => product * dim, 1);
  if (elements * bytesPerElement > limits.maxDecodedBytes) {
    throw new ApiError(
      "file_too_large",
      `The header declares shape (${dims.join(", ")}): ${elements * bytesPerElement} bytes of data, ` +
        `more than the ${limits.maxDecodedBytes}-byte limit. Send fewer trials per file, or betas already masked ` +
        "to the model's voxels ([trials, voxels]).",
    );
  }
}

async function readExactly(reader: ByteReader, count: number, what: string): Promise<Buffer> {
  const bytes = await reader.read(count);
  if (bytes.length < count) {
    throw new ApiError(
      "truncated_file",
      `The file ends early: ${what} needs ${count} more bytes, found ${bytes.length}. Upload the complete file.`,
    );
  }
  return bytes;
}

/**
 * Reads the array in trial blocks. Trial-major arrays stream; others (Fortran order, trials last)
 * are read whole, which the declared-size check has already bounded.
 */
export async function* streamedBlocks(array: StreamedArray, limits: BetaLimits): AsyncGenerator<TrialBlock> {
  const reader = await array.open();
  try {
    const trials = trialCount(array.storage);
    const perTrial = voxelsPerTrial(array.storage);
    if (!trialsAreContiguous(array.storage)) {
      if (perTrial * trials * 4 > limits.maxDecodedBytes) {
        throw new ApiError(
          "file_too_large",
          "This array stores trials interleaved (Fortran order or trials on the last axis), so it must be " +
            `held whole, which needs more than the ${limits.maxDecodedBytes}-byte limit. Save it trial-major ` +
            "(C order, trials first: np.ascontiguousarray(betas)) or send fewer trials.",
        );
      }
      const bytes = await readExactly(reader, perTrial * trials * array.type.bytes, "the data");
      const values = decodeElements(bytes, array.type, array.scaling);
      yield { firstTrial: 0, count: trials, trialStride: trialStride(array.storage), values };
      return;
    }
    const trialBytes = perTrial * array.type.bytes;
    const perBlock = Math.max(1, Math.floor(BLOCK_BYTES / trialBytes));
    for (let first = 0; first < trials; first += perBlock) {
      const count = Math.min(perBlock, trials - first);
      const bytes = await readExactly(reader, count * trialBytes, `trial ${first + 1} of ${trials}`);
      yield {
        firstTrial: first,
        count,
        trialStride: perTrial,
        values: decodeElements(bytes, array.type, array.scaling),
      };
    }
  } finally {
    reader.close();
  }
}

/**
 * How a BetaFile over a streamed array reads: in trial blocks, and the masked gather straight from the
 * stream, for trials stored one after another or on the last axis (the layouts there are).
 */
export function streamedAccess(
  array: StreamedArray,
  limits: BetaLimits,
): Pick<BetaFile, "blocks" | "gatherAllTrials"> {
  const gathers = trialsAreContiguous(array.storage) || array.storage.roles.at(-1) === "t";
  return {
    blocks: () => streamedBlocks(array, limits),
    ...(gathers && { gatherAllTrials: (offsets: Int32Array) => streamedGather(array, offsets) }),
  };
}

/**
 * Wanted items grouped into runs that are consecutive both in the file and in the target:
 * file element `from[r] + j` goes to target element `to[r] + j`, for j below `length[r]`.
 */
interface Runs {
  from: Int32Array;
  to: Int32Array;
  length: Int32Array;
}

/** Runs for items `k` of `width` consecutive elements each, at file element `offsets[k]`, to target `k * width`. */
function runsOf(offsets: Int32Array, width: number): Runs {
  const n = offsets.length;
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = offsets[i]! > offsets[i - 1]!;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (!sorted) order.sort((a, b) => offsets[a]! - offsets[b]!);
  const from: number[] = [];
  const to: number[] = [];
  const length: number[] = [];
  for (let i = 0; i < n; ) {
    let count = 1;
    while (
      i + count < n &&
      offsets[order[i + count]!]! === offsets[order[i]!]! + count * width &&
      order[i + count]! === order[i]! + count
    )
      count++;
    from.push(offsets[order[i]!]!);
    to.push(order[i]! * width);
    length.push(count * width);
    i += count;
  }
  return { from: Int32Array.from(from), to: Int32Array.from(to), length: Int32Array.from(length) };
}

/** Runs this short are copied byte by byte (a subarray per run would cost more than the copy). */
const SHORT_COPY_BYTES = 64;

/**
 * The given within-trial offsets of every trial, [trials, offsets], copied straight from the stream's
 * chunks as they arrive; for little-endian float32 without scaling the bytes land in the output itself.
 * Trial-major files stage one trial's wanted bytes at a time. With trials on the last axis each wanted
 * voxel's trials are contiguous: they are staged voxel by voxel (what is wanted of the file, which the
 * declared-size check bounds) and transposed.
 */
export async function streamedGather(array: StreamedArray, offsets: Int32Array): Promise<Float32Array> {
  const trials = trialCount(array.storage);
  const n = offsets.length;
  const { type, scaling } = array;
  const direct = type.kind === "f" && type.bytes === 4 && type.littleEndian && !scaling;
  if (trialsAreContiguous(array.storage)) {
    const out = new Float32Array(trials * n);
    const outBytes = new Uint8Array(out.buffer);
    const staging = direct ? null : new Uint8Array(n * type.bytes);
    await copyRuns(array, runsOf(offsets, 1), {
      rows: trials,
      rowBytes: voxelsPerTrial(array.storage) * type.bytes,
      target: (t) => staging ?? outBytes.subarray(t * n * 4, (t + 1) * n * 4),
      filled: (t, bytes) => {
        if (!direct) decodeOwnedInto(bytes, type, scaling, out, t * n);
      },
      incomplete: (t) => `trial ${t + 1} of ${trials} is incomplete`,
    });
    return out;
  }
  const byVoxel = new Float32Array(n * trials);
  const staging = direct ? new Uint8Array(byVoxel.buffer) : new Uint8Array(n * trials * type.bytes);
  const runs = runsOf(offsets, trials);
  const incomplete = "the trials of its last voxels are missing";
  // A single run is every wanted value in target order (a masked [trials, voxels] array saved in Fortran
  // order, as betas[mask > 0].T is): a plain file reads it into place.
  if (runs.from.length === 1 && array.readAt) {
    if ((await array.readAt(staging, runs.from[0]! * type.bytes)) < staging.length) {
      throw new ApiError("truncated_file", `The file ends early: ${incomplete}. Upload the complete file.`);
    }
  } else {
    await copyRuns(array, runs, {
      rows: 1,
      rowBytes: 0,
      target: () => staging,
      filled: () => {},
      incomplete: () => incomplete,
    });
  }
  if (!direct) decodeOwnedInto(staging, type, scaling, byVoxel, 0);
  return transpose(byVoxel, n, trials);
}

interface RunTargets {
  /** Times the runs repeat, `rowBytes` further into the file each time. */
  rows: number;
  rowBytes: number;
  /** Where row `row`'s runs are copied (`to` counts elements of the file's type). */
  target(row: number): Uint8Array;
  filled(row: number, bytes: Uint8Array): void;
  incomplete(row: number): string;
}

/** Streams the array once, copying the runs' bytes of every row out of each chunk as it arrives. */
async function copyRuns(array: StreamedArray, { from, to, length }: Runs, rows: RunTargets): Promise<void> {
  const size = array.type.bytes;
  const runCount = from.length;
  let row = 0;
  let r = 0;
  let copied = 0; // bytes of run r already copied
  let target = rows.target(0);
  let rowStart = 0;
  let position = 0; // data bytes before the current chunk
  const reader = await array.open();
  try {
    while (row < rows.rows) {
      const chunk = await reader.next();
      if (!chunk) {
        throw new ApiError(
          "truncated_file",
          `The file ends early: ${rows.incomplete(row)}. Upload the complete file.`,
        );
      }
      const end = position + chunk.length;
      while (row < rows.rows) {
        const runStart = rowStart + from[r]! * size;
        const start = runStart + copied;
        if (start >= end) break;
        const runEnd = runStart + length[r]! * size;
        const take = Math.min(runEnd, end) - start;
        const source = start - position;
        const at = to[r]! * size + copied;
        if (take >= SHORT_COPY_BYTES) target.set(chunk.subarray(source, source + take), at);
        else for (let b = 0; b < take; b++) target[at + b] = chunk[source + b]!;
        if (start + take < runEnd) {
          copied += take;
          break;
        }
        copied = 0;
        if (++r === runCount) {
          rows.filled(row, target);
          r = 0;
          row++;
          rowStart += rows.rowBytes;
          if (row < rows.rows) target = rows.target(row);
        }
      }
      position = end;
    }
  } finally {
    reader.close();
  }
}
