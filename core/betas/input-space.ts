import { ApiError } from "../contracts/errors.ts";
import { voxelOffsets } from "./array-layout.ts";
import type { BetaFile } from "./beta-file.ts";
import { gatherOffsets } from "./read-trials.ts";

/**
 * What a model takes: `voxels` values per trial, and for volumes the (x, y, z) grid and a mask on it
 * (values > 0 are in, numpy C order over (x, y, z)), which fixes MindEye's voxel order.
 */
export interface InputSpace {
  voxels: number;
  grid?: [number, number, number];
  mask?: ArrayLike<number>;
}

/** A [trials, voxels] float32 matrix, row-major. */
export interface BetaMatrix {
  data: Float32Array;
  shape: [number, number];
}

/** Indices (numpy C order over x, y, z) of the voxels a mask selects, in MindEye's order. */
export function maskIndices(mask: ArrayLike<number>): Int32Array {
  let count = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]! > 0) count++;
  const indices = new Int32Array(count);
  for (let i = 0, k = 0; i < mask.length; i++) if (mask[i]! > 0) indices[k++] = i;
  return indices;
}

function sameGrid(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function voxelIndicesFor(file: BetaFile, space: InputSpace): Int32Array | null {
  if (!file.grid) {
    if (file.voxelsPerTrial !== space.voxels) {
      throw new ApiError(
        "voxel_count_mismatch",
        `Each trial has ${file.voxelsPerTrial} values; this model takes ${space.voxels} voxels (its nsdgeneral ` +
          "mask, numpy C order over x, y, z). Mask the betas with the model's mask, or send the whole volume.",
        { fields: { expected_voxels: space.voxels, received_voxels: file.voxelsPerTrial } },
      );
    }
    return null;
  }
  if (!space.grid || !space.mask) {
    throw new ApiError(
      "grid_mismatch",
      `This model takes masked vectors of ${space.voxels} voxels, not volumes. Send [trials, ${space.voxels}].`,
    );
  }
  if (!sameGrid(file.grid, space.grid)) {
    const swapped =
      file.shape.length === 4 && sameGrid(file.shape.slice(0, 3), space.grid)
        ? " Trials look like the last axis: pass layout 'xyzt'."
        : "";
    throw new ApiError(
      "grid_mismatch",
      `The volume grid is (${file.grid.join(", ")}) (layout '${file.layout}', shape (${file.shape.join(", ")})); this ` +
        `model's is (${space.grid.join(", ")}), the subject's func1pt8mm space. Resample the betas to that space.${swapped}`,
      { fields: { expected_grid: space.grid, received_grid: file.grid } },
    );
  }
  const indices = maskIndices(space.mask);
  if (indices.length !== space.voxels) {
    throw new ApiError(
      "invalid_bundle",
      `The model's mask selects ${indices.length} voxels, not ${space.voxels}.`,
    );
  }
  return indices;
}

/**
 * Whether every value is finite, from their float64 sum: float32 values are below 2^128, so the sum of
 * fewer than 2^800 of them cannot overflow, and it is finite exactly when every value is. Four sums
 * break the chain of dependent additions (3x faster than a test per value).
 */
function allFinite(data: Float32Array): boolean {
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  let i = 0;
  for (; i + 4 <= data.length; i += 4) {
    a += data[i]!;
    b += data[i + 1]!;
    c += data[i + 2]!;
    d += data[i + 3]!;
  }
  for (; i < data.length; i++) a += data[i]!;
  return Number.isFinite(a + b + c + d);
}

/** Counts NaN and infinite values; refuses them, naming the first, since the model cannot take them. */
export function assertFinite(data: Float32Array, voxels: number, what: string): void {
  if (allFinite(data)) return;
  let count = 0;
  let firstIndex = -1;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      if (firstIndex < 0) firstIndex = i;
      count++;
    }
  }
  if (count) {
    const at = [Math.floor(firstIndex / voxels), firstIndex % voxels];
    throw new ApiError(
      "non_finite_values",
      `${what} holds ${count} NaN or infinite values; the first is trial ${at[0]}, voxel ${at[1]}. ` +
        "Replace them (e.g. np.nan_to_num) or drop those trials.",
      { fields: { non_finite_count: count, first_index: at } },
    );
  }
}

/** The model's voxels of every trial, [trials, voxels]; volumes are masked, masked rows pass through. */
export async function extractMaskedVoxels(file: BetaFile, space: InputSpace): Promise<BetaMatrix> {
  const indices = voxelIndicesFor(file, space);
  const data = await gatherOffsets(file, voxelOffsets(file.storage, indices ?? undefined));
  assertFinite(data, space.voxels, "The model's voxels");
  return { data, shape: [file.trials, space.voxels] };
}
