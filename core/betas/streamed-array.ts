import { ApiError } from "../contracts/errors.ts";
import {
  type StoredArray,
  trialCount,
  trialStride,
  trialsAreContiguous,
  voxelsPerTrial,
} from "./array-layout.ts";
import type { BetaLimits, TrialBlock } from "./beta-file.ts";
import type { ByteReader } from "./byte-reader.ts";
import { decodeElements, type ElementType, type Scaling } from "./element-type.ts";

/** Bytes decoded per block when streaming: large enough to be fast, small enough to stay flat in memory. */
const BLOCK_BYTES = 8 << 20;

export interface StreamedArray {
  /** Opens the data, positioned at its first byte. */
  open(): Promise<ByteReader>;
  type: ElementType;
  storage: StoredArray;
  scaling: Scaling | null;
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
