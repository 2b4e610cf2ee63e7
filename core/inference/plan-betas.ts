import { assertFinite, type BetaMatrix, type InputSpace } from "../betas/input-space.ts";
import { checkAverageGroups, type PreprocessingRequest } from "../betas/preprocess.ts";
import { ApiError } from "../contracts/errors.ts";
import type { UploadRecord, UploadStore, UploadSummary } from "../uploads/upload-store.ts";
import type { InferenceService, ModelDescription } from "./inference.ts";
import { modelInputSpace } from "./model-space.ts";

/** Inline rows z-scored as a session need at least this many (their statistics stand in for a session's). */
export const MIN_INLINE_SESSION_TRIALS = 50;

export interface SessionPart {
  uploadId: string;
  dataset?: string;
  trials?: number[];
}

/** Betas as a request names them: an inline [trials, voxels] matrix, or trials of one or more sessions. */
export type BetasSource =
  | { kind: "inline"; matrix: BetaMatrix }
  | { kind: "sessions"; sessions: SessionPart[] };

export interface PlannedSession extends SessionPart {
  upload: UploadRecord & { summary: UploadSummary };
  rows: number;
}

/** A request's betas checked against the model and the uploads, before anything large is read or queued. */
export interface BetasPlan {
  model: ModelDescription;
  space: InputSpace;
  source: BetasSource;
  /** Preprocessing with the defaults of the source filled in (session z-scoring for uploads). */
  preprocessing: PreprocessingRequest;
  /** Whether the caller left `zscore` out (so a default was used). */
  zscoreDefaulted: boolean;
  sessions: PlannedSession[];
  /** Rows before averaging: inline rows, or the selected trials of every session in order. */
  rows: number;
}

/**
 * Every check that needs no betas read: voxel count and orientation of inline arrays, uploads ready and
 * theirs, trial indices, `average` groups against the rows there are. Cheap, so routes call it before
 * deciding to queue a job, and the job calls it again (through prepareBetas) when it runs.
 */
export async function planBetas(
  deps: { inference: InferenceService; uploads: UploadStore },
  labId: string,
  modelId: string,
  source: BetasSource,
  preprocessing: PreprocessingRequest = {},
): Promise<BetasPlan> {
  const model = await deps.inference.getModel(modelId);
  const space = await modelInputSpace(deps.inference, modelId);
  const zscoreDefaulted = preprocessing.zscore === undefined;
  const zscore = preprocessing.zscore ?? (source.kind === "sessions" ? "session" : "none");
  let rows: number;
  const sessions: PlannedSession[] = [];
  if (source.kind === "inline") {
    checkInline(source.matrix, modelId, space);
    rows = source.matrix.shape[0];
    if (zscore === "session" && rows < MIN_INLINE_SESSION_TRIALS) {
      throw new ApiError(
        "invalid_preprocessing",
        `zscore "session" on inline betas uses the sent rows as the session, and ${rows} rows are too few ` +
          `(at least ${MIN_INLINE_SESSION_TRIALS}; NSD sessions have 750). Upload the whole session and send ` +
          `{"upload_id", "trials"} (its statistics then come from every trial), or send zscore {"mean", "std"}.`,
        { fields: { rows, min_rows: MIN_INLINE_SESSION_TRIALS } },
      );
    }
  } else {
    if (source.sessions.length === 0)
      throw new ApiError("invalid_request", "betas.sessions needs at least one {upload_id}.");
    for (const part of source.sessions) sessions.push(await planSession(deps.uploads, labId, part));
    rows = sessions.reduce((n, s) => n + s.rows, 0);
  }
  if (preprocessing.average) checkAverageGroups(preprocessing.average, rows);
  return {
    model,
    space,
    source,
    preprocessing: { ...preprocessing, zscore },
    zscoreDefaulted,
    sessions,
    rows,
  };
}

function checkInline(matrix: BetaMatrix, modelId: string, space: InputSpace): void {
  const [rows, voxels] = matrix.shape;
  if (rows === space.voxels && voxels !== space.voxels) {
    throw new ApiError(
      "betas_transposed",
      `These betas are [${rows}, ${voxels}]: ${rows} is model ${modelId}'s voxel count, so they look like ` +
        "[voxels, trials]. Send [trials, voxels] (numpy: betas.T, C order).",
      { fields: { expected: ["trials", space.voxels], got: [rows, voxels] } },
    );
  }
  if (voxels !== space.voxels) {
    throw new ApiError(
      "voxel_count_mismatch",
      `Model ${modelId} takes ${space.voxels} voxels per trial; got ${voxels}. ` +
        (space.grid
          ? `Mask your volume with GET /v1/models/${modelId}/mask (numpy C order over x, y, z), or upload the whole volume.`
          : "Send the voxels of the model's ROI in its order."),
      { fields: { expected_voxels: space.voxels, got_voxels: voxels } },
    );
  }
  assertFinite(matrix.data, space.voxels, "The betas");
}

async function planSession(uploads: UploadStore, labId: string, part: SessionPart): Promise<PlannedSession> {
  const upload = await uploads.getReady(labId, part.uploadId);
  if (part.dataset !== undefined && part.dataset !== upload.summary.dataset) {
    throw new ApiError(
      "invalid_request",
      `Upload ${part.uploadId} was inspected with dataset ${upload.summary.dataset ?? "(none)"}; ` +
        `to read ${part.dataset}, complete it again with {"dataset": "${part.dataset}"}.`,
    );
  }
  const total = upload.summary.trials;
  for (const t of part.trials ?? []) {
    if (!Number.isInteger(t) || t < 0 || t >= total) {
      throw new ApiError(
        "invalid_request",
        `Trial ${t} is not in upload ${part.uploadId}, which has ${total} trials (0-based).`,
      );
    }
  }
  return { ...part, upload, rows: part.trials?.length ?? total };
}
