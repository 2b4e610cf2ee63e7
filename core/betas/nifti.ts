import { ApiError } from "../contracts/errors.ts";
import { type AxisRole, gridOf, storedArray, trialCount, voxelsPerTrial } from "./array-layout.ts";
import type { BetaFile, BetaLimits } from "./beta-file.ts";
import { openFileReader } from "./byte-reader.ts";
import { describeElementType } from "./element-type.ts";
import { parseNiftiHeader } from "./nifti-header.ts";
import { checkDeclaredSize, streamedAccess } from "./streamed-array.ts";

/** Opens a .nii or .nii.gz; the data is streamed (and gunzipped) on each pass, never held whole. */
export async function openNifti(path: string, gzip: boolean, limits: BetaLimits): Promise<BetaFile> {
  const open = () => openFileReader(path, { gzip, maxBytes: limits.maxDecodedBytes });
  const reader = open();
  const head = await reader.read(540).finally(() => reader.close());
  const header = parseNiftiHeader(head);
  if (header.intentCode >= 3000 && header.intentCode < 3100) {
    throw new ApiError(
      "unsupported_format",
      "This is a CIFTI file (grayordinates, not a volume). MindEye reads volumes in the subject's " +
        "func1pt8mm space: send the betas as a 3-D or 4-D NIfTI volume.",
    );
  }
  const extra = header.shape.slice(4);
  if (header.shape.length < 3 || extra.some((d) => d !== 1)) {
    throw new ApiError(
      "unsupported_format",
      `This NIfTI has shape (${header.shape.join(", ")}). Send a 3-D volume (one trial) or a 4-D volume ` +
        "with trials on the 4th axis.",
    );
  }
  const shape = header.shape.slice(0, 4);
  const roles: AxisRole[] = shape.length === 4 ? ["x", "y", "z", "t"] : ["x", "y", "z"];
  // NIfTI stores x fastest: Fortran order over nibabel's (x, y, z, t).
  const storage = storedArray(shape, roles, true);
  checkDeclaredSize(shape, header.type.bytes, limits);
  if (header.voxOffset > limits.maxDecodedBytes) {
    throw new ApiError("file_too_large", `vox_offset ${header.voxOffset} puts the data past the size limit.`);
  }

  const array = {
    type: header.type,
    storage,
    scaling: header.scaling,
    open: async () => {
      const data = open();
      if ((await data.skip(header.voxOffset)) < header.voxOffset) {
        data.close();
        throw new ApiError(
          "truncated_file",
          "The file ends before its data starts (vox_offset). Upload the complete file.",
        );
      }
      return data;
    },
  };
  return {
    format: header.version === 1 ? "nifti1" : "nifti2",
    dtype: describeElementType(header.type),
    shape,
    layout: "xyzt",
    trials: trialCount(storage),
    grid: gridOf(storage),
    voxelsPerTrial: voxelsPerTrial(storage),
    scaling: header.scaling,
    dataset: null,
    compressed: gzip,
    storage,
    ...streamedAccess(array, limits),
    close: async () => {},
  };
}
