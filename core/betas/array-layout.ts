import { ApiError } from "../contracts/errors.ts";

/** What one axis of a stored array means: trials, the three volume axes, or voxels of a masked row. */
export type AxisRole = "t" | "x" | "y" | "z" | "v";

/**
 * How a file's axes map to trials and voxels, named by the axis order its reader reports
 * (nibabel for NIfTI, numpy for NPY, h5py for HDF5). Aliases from the API docs are accepted too.
 */
export const LAYOUTS = {
  txyz: { 4: ["t", "x", "y", "z"], 3: ["x", "y", "z"] },
  xyzt: { 4: ["x", "y", "z", "t"], 3: ["x", "y", "z"] },
  tzyx: { 4: ["t", "z", "y", "x"], 3: ["z", "y", "x"] },
  trials_by_voxels: { 2: ["t", "v"], 1: ["v"] },
  voxels_by_trials: { 2: ["v", "t"], 1: ["v"] },
} as const satisfies Record<string, Partial<Record<number, readonly AxisRole[]>>>;

export type LayoutName = keyof typeof LAYOUTS;
export type LayoutRequest = LayoutName | "nsd_tzyx" | "matlab_reversed";

/**
 * A layout as stored: dims in storage order (slowest first) and what each one is. Strides follow
 * from the dims, so any voxel of any trial can be located without reordering the file.
 */
export interface StoredArray {
  dims: number[];
  roles: AxisRole[];
}

/** Resolves a requested layout (or the format's default) for an array of the given reader-order shape. */
export function resolveLayout(
  shape: readonly number[],
  requested: LayoutRequest | undefined,
  fallback: "array" | "hdf5",
) {
  const ndim = shape.length;
  let name: LayoutName;
  if (requested === "nsd_tzyx") name = "tzyx";
  else if (requested === "matlab_reversed") name = ndim >= 3 ? "tzyx" : "trials_by_voxels";
  else if (requested) name = requested;
  else if (ndim <= 2) name = "trials_by_voxels";
  else name = fallback === "hdf5" ? "tzyx" : "txyz";
  const roles = (LAYOUTS[name] as Partial<Record<number, readonly AxisRole[]>>)[ndim];
  if (!roles) {
    throw new ApiError(
      "invalid_file",
      `The array has shape (${shape.join(", ")}), which layout '${name}' cannot describe. ` +
        "Send [trials, voxels] or [voxels] for masked betas, or a volume with layout 'txyz', 'xyzt' or 'tzyx'.",
    );
  }
  return { name, roles: [...roles] };
}

/** Storage of an array whose reader-order shape and roles are given; Fortran order stores the axes reversed. */
export function storedArray(shape: readonly number[], roles: AxisRole[], fortranOrder: boolean): StoredArray {
  return fortranOrder
    ? { dims: [...shape].reverse(), roles: [...roles].reverse() }
    : { dims: [...shape], roles };
}

function strideOf(array: StoredArray, role: AxisRole): number {
  const index = array.roles.indexOf(role);
  if (index < 0) return 0;
  let stride = 1;
  for (let i = index + 1; i < array.dims.length; i++) stride *= array.dims[i]!;
  return stride;
}

function sizeOf(array: StoredArray, role: AxisRole): number {
  const index = array.roles.indexOf(role);
  return index < 0 ? 1 : array.dims[index]!;
}

export function trialCount(array: StoredArray): number {
  return sizeOf(array, "t");
}

export function voxelsPerTrial(array: StoredArray): number {
  return array.dims.reduce((product, dim) => product * dim, 1) / trialCount(array);
}

export function gridOf(array: StoredArray): [number, number, number] | null {
  return array.roles.includes("x") ? [sizeOf(array, "x"), sizeOf(array, "y"), sizeOf(array, "z")] : null;
}

/** Trials are stored one after another (so a file can be streamed trial by trial). */
export function trialsAreContiguous(array: StoredArray): boolean {
  return array.roles[0] === "t" || !array.roles.includes("t");
}

/** Distance between trials in a buffer holding the whole array. */
export function trialStride(array: StoredArray): number {
  return array.roles.includes("t") ? strideOf(array, "t") : voxelsPerTrial(array);
}

/**
 * Offsets of voxels within a trial, for voxels numbered in MindEye's order: numpy C order over
 * (x, y, z), z fastest, or the row index for masked rows. `voxels` defaults to every voxel.
 */
export function voxelOffsets(array: StoredArray, voxels?: Int32Array): Int32Array {
  const count = voxels ? voxels.length : voxelsPerTrial(array);
  const offsets = new Int32Array(count);
  if (!array.roles.includes("x")) {
    const stride = strideOf(array, "v");
    for (let i = 0; i < count; i++) offsets[i] = (voxels ? voxels[i]! : i) * stride;
    return offsets;
  }
  const [, sy, sz] = [sizeOf(array, "x"), sizeOf(array, "y"), sizeOf(array, "z")];
  const [stx, sty, stz] = [strideOf(array, "x"), strideOf(array, "y"), strideOf(array, "z")];
  for (let i = 0; i < count; i++) {
    const c = voxels ? voxels[i]! : i;
    const z = c % sz;
    const y = Math.floor(c / sz) % sy;
    const x = Math.floor(c / (sz * sy));
    offsets[i] = x * stx + y * sty + z * stz;
  }
  return offsets;
}
