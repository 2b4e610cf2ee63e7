import {
  gridOf,
  type LayoutRequest,
  resolveLayout,
  storedArray,
  trialCount,
  trialStride,
  voxelsPerTrial,
} from "./array-layout.ts";
import type { BetaFile, BetaFormat } from "./beta-file.ts";

/** A BetaFile over values already decoded in memory (JSON values, a base64 or NPY request body). */
export function inMemoryBetaFile(
  values: Float32Array,
  shape: number[],
  options: { format: BetaFormat; dtype?: string; layout?: LayoutRequest },
): BetaFile {
  const resolved = resolveLayout(shape, options.layout, "array");
  const storage = storedArray(shape, resolved.roles, false);
  const block = { firstTrial: 0, count: trialCount(storage), trialStride: trialStride(storage), values };
  return {
    format: options.format,
    dtype: options.dtype ?? "<f4",
    shape,
    layout: resolved.name,
    trials: trialCount(storage),
    grid: gridOf(storage),
    voxelsPerTrial: voxelsPerTrial(storage),
    scaling: null,
    dataset: null,
    compressed: false,
    storage,
    blocks: async function* () {
      yield block;
    },
    close: async () => {},
  };
}
