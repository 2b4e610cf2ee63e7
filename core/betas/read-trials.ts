import { voxelOffsets } from "./array-layout.ts";
import type { BetaFile } from "./beta-file.ts";

/** Each trial as float32 (file scaling applied), voxels in numpy C order over (x, y, z), or the row as stored. */
export async function* iterateTrials(file: BetaFile): AsyncGenerator<Float32Array> {
  const offsets = voxelOffsets(file.storage);
  for await (const block of file.blocks()) {
    for (let k = 0; k < block.count; k++) {
      const base = k * block.trialStride;
      const trial = new Float32Array(offsets.length);
      for (let i = 0; i < offsets.length; i++) trial[i] = block.values[base + offsets[i]!]!;
      yield trial;
    }
  }
}

/** The values at the given within-trial offsets for every trial, as a [trials, offsets] matrix. */
export async function gatherOffsets(file: BetaFile, offsets: Int32Array): Promise<Float32Array> {
  if (file.gatherAllTrials) return file.gatherAllTrials(offsets);
  const n = offsets.length;
  const out = new Float32Array(file.trials * n);
  for await (const block of file.blocks()) {
    for (let k = 0; k < block.count; k++) {
      const base = k * block.trialStride;
      const row = (block.firstTrial + k) * n;
      for (let i = 0; i < n; i++) out[row + i] = block.values[base + offsets[i]!]!;
    }
  }
  return out;
}
