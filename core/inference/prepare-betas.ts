import type { BetaMatrix } from "../betas/input-space.ts";
import {
  averageApplied,
  averageRows,
  normalizeSession,
  type PreprocessingApplied,
  type PreprocessingRequest,
} from "../betas/preprocess.ts";
import { ApiError } from "../contracts/errors.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import type { BetasReader } from "../uploads/betas-reader.ts";
import type { UploadStore } from "../uploads/upload-store.ts";
import type { InferenceService } from "./inference.ts";
import { type InputWarning, inputWarnings } from "./input-warnings.ts";
import { type BetasPlan, type BetasSource, type PlannedSession, planBetas } from "./plan-betas.ts";

export type { BetasSource } from "./plan-betas.ts";

export interface PreparedBetas {
  matrix: BetaMatrix;
  applied: PreprocessingApplied;
  /** How many rows went in, before averaging. */
  inputTrials: number;
  warnings: InputWarning[];
}

export interface PrepareDeps {
  inference: InferenceService;
  uploads: UploadStore;
  blobs: BlobStore;
  decodedMaxBytes: number;
  betasReader: BetasReader;
}

/** Plans (every cheap check), then reads and preprocesses: the whole path from a request's betas. */
export async function prepareBetas(
  deps: PrepareDeps,
  labId: string,
  modelId: string,
  source: BetasSource,
  preprocessing: PreprocessingRequest = {},
  limits: { maxTrials?: number } = {},
): Promise<PreparedBetas> {
  return preparePlanned(deps, await planBetas(deps, labId, modelId, source, preprocessing), limits);
}

/**
 * From a planned request to the model's input: each session read (upload) or taken (inline, already
 * masked), scaled and z-scored with its own session's statistics, the rows concatenated in the order
 * given, then repeats averaged, as MindEye's data preparation does.
 */
export async function preparePlanned(
  deps: PrepareDeps,
  plan: BetasPlan,
  limits: { maxTrials?: number } = {},
): Promise<PreparedBetas> {
  assertWithin(plan.rows, limits.maxTrials);
  const { preprocessing, source } = plan;
  const parts =
    source.kind === "inline"
      ? [normalizeSession(source.matrix, preprocessing)]
      : await Promise.all(plan.sessions.map((session) => readSession(deps, plan, session)));
  const voxels = plan.space.voxels;
  const rows: BetaMatrix =
    parts.length === 1
      ? parts[0]!
      : { data: concatenate(parts.map((p) => p.data)), shape: [plan.rows, voxels] };
  const applied: PreprocessingApplied = {
    scale: parts[0]!.applied.scale,
    zscore: parts.length === 1 ? parts[0]!.applied.zscore : severalSessions(plan.sessions, parts),
    average: averageApplied(preprocessing.average),
  };
  const warnings = inputWarnings(rows, {
    modelId: plan.model.id,
    training: plan.model.input.training,
    applied,
    zscoreDefaulted: plan.zscoreDefaulted,
    inline: source.kind === "inline",
  });
  const matrix = preprocessing.average ? averageRows(rows, preprocessing.average) : rows;
  return { matrix, applied, inputTrials: plan.rows, warnings };
}

async function readSession(deps: PrepareDeps, plan: BetasPlan, session: PlannedSession) {
  const modelId = plan.model.id;
  const wantsStats = plan.preprocessing.zscore === "session";
  const kept = wantsStats ? await deps.uploads.sessionStatistics(session.uploadId, modelId) : null;
  const read = await deps.betasReader.readUploadBetas(
    deps.blobs,
    session.upload,
    plan.space,
    session.trials,
    deps.decodedMaxBytes,
    {
      statistics: wantsStats && !kept,
    },
  );
  const stats = kept ?? read.session;
  if (!kept && read.session)
    await deps.uploads.keepSessionStatistics(session.uploadId, modelId, read.session);
  return normalizeSession(read, plan.preprocessing, read, stats);
}

function severalSessions(
  sessions: PlannedSession[],
  parts: { applied: Pick<PreprocessingApplied, "zscore"> }[],
): PreprocessingApplied["zscore"] {
  const each = parts.map((p, i) => ({ upload_id: sessions[i]!.uploadId, ...p.applied.zscore }));
  const kind = each[0]!.kind;
  return kind === "session"
    ? { kind, trials: each.reduce((n, s) => n + (s.trials ?? 0), 0), sessions: each }
    : { kind, sessions: each };
}

function concatenate(arrays: Float32Array[]): Float32Array {
  const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
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
