import { stat } from "node:fs/promises";
import { ApiError } from "../contracts/errors.ts";
import {
  gridOf,
  type LayoutRequest,
  resolveLayout,
  storedArray,
  trialCount,
  voxelsPerTrial,
} from "./array-layout.ts";
import type { BetaFile, BetaLimits } from "./beta-file.ts";
import { openFileReader } from "./byte-reader.ts";
import type { ElementType } from "./element-type.ts";
import { checkDeclaredSize, streamedAccess } from "./streamed-array.ts";

const FLOAT32_LE: ElementType = { kind: "f", bytes: 4, littleEndian: true };

/** Headerless little-endian float32 in C order; the caller declares the shape. */
export async function openRaw(
  path: string,
  options: { rawShape?: number[]; layout?: LayoutRequest },
  limits: BetaLimits,
): Promise<BetaFile> {
  const shape = options.rawShape;
  if (!shape || shape.length === 0 || shape.some((d) => !Number.isSafeInteger(d) || d < 1)) {
    throw new ApiError(
      "invalid_file",
      "A raw float32 file needs its shape: pass shape, e.g. [trials, voxels] or [voxels]. Or send .npy, which carries it.",
    );
  }
  checkDeclaredSize(shape, 4, limits);
  const expected = shape.reduce((product, dim) => product * dim, 4);
  const { size } = await stat(path);
  if (size !== expected) {
    throw new ApiError(
      size < expected ? "truncated_file" : "invalid_file",
      `Shape (${shape.join(", ")}) of float32 needs ${expected} bytes; the file has ${size}. ` +
        "Check the shape, and that the values are float32 (x.astype('<f4').tofile(path)).",
    );
  }
  const resolved = resolveLayout(shape, options.layout, "array");
  const storage = storedArray(shape, resolved.roles, false);
  const array = {
    type: FLOAT32_LE,
    storage,
    scaling: null,
    open: async () => openFileReader(path, { gzip: false, maxBytes: limits.maxDecodedBytes }),
  };
  return {
    format: "raw",
    dtype: "<f4",
    shape: [...shape],
    layout: resolved.name,
    trials: trialCount(storage),
    grid: gridOf(storage),
    voxelsPerTrial: voxelsPerTrial(storage),
    scaling: null,
    dataset: null,
    compressed: false,
    storage,
    ...streamedAccess(array, limits),
    close: async () => {},
  };
}
