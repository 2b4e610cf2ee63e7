import { basename } from "node:path";
import { ApiError } from "../contracts/errors.ts";
import type { LayoutRequest } from "./array-layout.ts";
import { type BetaFile, type BetaLimits, DEFAULT_BETA_LIMITS } from "./beta-file.ts";
import { openFileReader, readFileAt } from "./byte-reader.ts";
import { openHdf5 } from "./hdf5.ts";
import { openJsonFile } from "./json-file.ts";
import { openNifti } from "./nifti.ts";
import { openNpy } from "./npy.ts";
import { openNpz } from "./npz.ts";
import { openRaw } from "./raw.ts";
import { sniffFormat } from "./sniff.ts";

export interface OpenBetaFileOptions {
  /** The name the lab gave the file; used only to name formats we refuse (GIFTI, CIFTI, MGH). */
  filename?: string;
  /** Only needed for headerless data: "raw" (float32 LE with rawShape). Other formats are sniffed. */
  format?: "raw" | "auto";
  /** HDF5 dataset path or NPZ member name (default: "betas", or the only array). */
  dataset?: string;
  layout?: LayoutRequest;
  rawShape?: number[];
  limits?: BetaLimits;
}

/** Opens a beta file of any accepted format, found from its bytes; throws ApiError for anything else. */
export async function openBetaFile(path: string, options: OpenBetaFileOptions = {}): Promise<BetaFile> {
  const limits = options.limits ?? DEFAULT_BETA_LIMITS;
  if (options.format === "raw") return openRaw(path, options, limits);
  const sniffed = await sniffFormat(path, options.filename ?? basename(path), limits.maxDecodedBytes);
  switch (sniffed) {
    case "nifti":
    case "nifti-gz":
      return openNifti(path, sniffed === "nifti-gz", limits);
    case "npy":
      return openNpy(
        {
          open: async () => openFileReader(path, { gzip: false, maxBytes: limits.maxDecodedBytes }),
          readAt: (target, position) => readFileAt(path, target, position),
          format: "npy",
          dataset: null,
          compressed: false,
          close: async () => {},
        },
        options.layout,
        limits,
      );
    case "npz":
      return openNpz(path, options, limits);
    case "hdf5":
      return openHdf5(path, options, limits);
    case "json":
      return openJsonFile(path, options.layout, limits);
    default:
      if (options.rawShape) return openRaw(path, options, limits);
      throw new ApiError(
        "unsupported_format",
        "The file is not a format we recognise. Send NIfTI (.nii/.nii.gz), NumPy (.npy/.npz), HDF5 " +
          "(.h5, or MATLAB .mat saved with -v7.3), JSON nested arrays, or raw little-endian float32 with its shape.",
      );
  }
}
