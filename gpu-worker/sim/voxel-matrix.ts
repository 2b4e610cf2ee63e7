/**
 * From stored int16 volumes to the model's input, the way the service prepares uploads (core/betas):
 * the mask's voxels in MindEye order, divided by 300, z-scored per session, repeats averaged on request.
 */
import { type BetaMatrix, type PreprocessingRequest, preprocessBetas } from "../../core/betas/index.ts";
import { GRID } from "./sim01-spec.ts";
import { INT16_SCALE } from "./subject.ts";

const VOLUME = GRID[0] * GRID[1] * GRID[2];

/** The ROI voxels of each trial as stored (int16 values), [trials, voxels]. */
export function maskedVoxels(betas: Int16Array, roiFileOffsets: Int32Array): BetaMatrix {
  const trials = betas.length / VOLUME;
  const voxels = roiFileOffsets.length;
  const data = new Float32Array(trials * voxels);
  for (let t = 0; t < trials; t++) {
    for (let v = 0; v < voxels; v++) data[t * voxels + v] = betas[t * VOLUME + roiFileOffsets[v]!]!;
  }
  return { data, shape: [trials, voxels] };
}

/** Scaled by 1/300 and z-scored over the session (unless the request says otherwise). */
export function preparedVoxels(
  betas: Int16Array,
  roiFileOffsets: Int32Array,
  request: PreprocessingRequest = {},
): BetaMatrix {
  return preprocessBetas(maskedVoxels(betas, roiFileOffsets), {
    scale: INT16_SCALE,
    zscore: "session",
    ...request,
  });
}
