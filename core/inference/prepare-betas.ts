import {
  assertFinite,
  type BetaMatrix,
  type PreprocessingApplied,
  type PreprocessingRequest,
  preprocessBetas,
} from "../betas/index.ts";
import { ApiError } from "../contracts/errors.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { readUploadBetas } from "../uploads/read-upload.ts";
import type { UploadStore } from "../uploads/upload-store.ts";
import type { InferenceService } from "./inference.ts";
import { modelInputSpace } from "./model-space.ts";

/** Betas as a request names them: an inline [trials, voxels] matrix, or trials of a completed upload. */
export type BetasSource =
  | { kind: "inline"; matrix: BetaMatrix }
  | { kind: "upload"; uploadId: string; trials?: number[]; dataset?: string };

export interface PreparedBetas {
  matrix: BetaMatrix;
  applied: PreprocessingApplied;
  /** How many trials went in, before averaging. */
  inputTrials: number;
}

export interface PrepareDeps {
  inference: InferenceService;
  uploads: UploadStore;
  blobs: BlobStore;
  decodedMaxBytes: number;
}

/**
 * From a request's betas to the model's input: read (upload) or take (inline), mask to the model's
 * voxels, then scale, z-score and average exactly as requested. Inline input is already masked.
 */
export async function prepareBetas(
  deps: PrepareDeps,
  labId: string,
  modelId: string,
  source: BetasSource,
  preprocessing: PreprocessingRequest = {},
  limits: { maxTrials?: number } = {},
): Promise<PreparedBetas> {
  const space = await modelInputSpace(deps.inference, modelId);
  let matrix: BetaMatrix;
  let file: { dtype: string; scaling: { slope: number; inter: number } | null } | undefined;
  if (source.kind === "inline") {
    matrix = source.matrix;
    if (matrix.shape[1] !== space.voxels) {
      throw new ApiError(
        "voxel_count_mismatch",
        `Model ${modelId} takes ${space.voxels} voxels per trial; got ${matrix.shape[1]}. ` +
          (space.grid
            ? `Mask your volume with GET /v1/models/${modelId}/mask (numpy C order over x, y, z), or upload the whole volume.`
            : "Send the voxels of the model's ROI in its order."),
        { fields: { expected_voxels: space.voxels, got_voxels: matrix.shape[1] } },
      );
    }
    assertFinite(matrix.data, space.voxels, "The betas");
  } else {
    const upload = await deps.uploads.getReady(labId, source.uploadId);
    if (source.dataset !== undefined && source.dataset !== upload.summary.dataset) {
      throw new ApiError(
        "invalid_request",
        `Upload ${source.uploadId} was inspected with dataset ${upload.summary.dataset ?? "(none)"}; ` +
          `to read ${source.dataset}, complete it again with {"dataset": "${source.dataset}"}.`,
      );
    }
    const trials = source.trials?.length ?? upload.summary.trials;
    assertWithin(trials, limits.maxTrials);
    const read = await readUploadBetas(deps.blobs, upload, space, source.trials, deps.decodedMaxBytes);
    matrix = { data: read.data, shape: read.shape };
    file = { dtype: read.dtype, scaling: read.scaling };
  }
  assertWithin(matrix.shape[0], limits.maxTrials);
  const zscoreDefault = source.kind === "upload" ? "session" : "none";
  const prepared = preprocessBetas(matrix, { zscore: zscoreDefault, ...preprocessing }, file);
  return {
    matrix: { data: prepared.data, shape: prepared.shape },
    applied: prepared.applied,
    inputTrials: matrix.shape[0],
  };
}

function assertWithin(trials: number, maxTrials: number | undefined): void {
  if (maxTrials !== undefined && trials > maxTrials) {
    throw new ApiError(
      "sync_limit_exceeded",
      `This request has ${trials} trials; synchronous requests take at most ${maxTrials}. ` +
        "Send it with `Prefer: respond-async` to run it as a job, or select fewer trials.",
      { fields: { limit_trials: maxTrials, trials } },
    );
  }
}
