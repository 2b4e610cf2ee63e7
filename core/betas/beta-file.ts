import type { LayoutName, StoredArray } from "./array-layout.ts";
import type { Scaling } from "./element-type.ts";

export type BetaFormat = "nifti1" | "nifti2" | "npy" | "npz" | "hdf5" | "raw" | "json";

/** Decoded data a file may declare, and the most this process holds for one file at once. */
export interface BetaLimits {
  maxDecodedBytes: number;
}

export const DEFAULT_BETA_LIMITS: BetaLimits = { maxDecodedBytes: 2 * 1024 ** 3 };

/**
 * Consecutive trials decoded to float32 (file scaling applied), in the file's own order.
 * Voxel `offset` (from `voxelOffsets`) of trial `firstTrial + k` is `values[k * trialStride + offset]`.
 */
export interface TrialBlock {
  firstTrial: number;
  count: number;
  trialStride: number;
  values: Float32Array;
}

/** What a beta file holds, found from its header; the values are read on demand, in blocks. */
export interface BetaFileInfo {
  format: BetaFormat;
  /** numpy spelling of the stored element type, e.g. `<i2`, `>f4`. */
  dtype: string;
  /** Shape as nibabel / numpy / h5py report it. */
  shape: number[];
  layout: LayoutName;
  trials: number;
  /** (x, y, z) for volumes; null for already-masked rows. */
  grid: [number, number, number] | null;
  voxelsPerTrial: number;
  /** Scaling the file declares and the reader applied (NIfTI slope/intercept), or null. */
  scaling: Scaling | null;
  /** Dataset (HDF5) or member (NPZ) that was read. */
  dataset: string | null;
  compressed: boolean;
}

export interface BetaFile extends BetaFileInfo {
  storage: StoredArray;
  /** Every trial once, in file order; each call reads the file again from the start. */
  blocks(): AsyncIterable<TrialBlock>;
  /** Faster path some formats have: the given voxel offsets of every trial, as [trials, offsets]. */
  gatherAllTrials?(offsets: Int32Array): Promise<Float32Array>;
  close(): Promise<void>;
}

export function infoOf(file: BetaFile): BetaFileInfo {
  const { storage: _storage, blocks: _blocks, gatherAllTrials: _gather, close: _close, ...info } = file;
  return info;
}
