import { ApiError } from "../contracts/errors.ts";
import type { BetaFileInfo } from "./beta-file.ts";
import type { BetaMatrix } from "./input-space.ts";
import { type SessionStatistics, sessionStatistics } from "./session-statistics.ts";
import { zscoreRows } from "./zscore.ts";

/** NSD stores percent signal change x300 as int16 (NSD data manual). */
export const NSD_INT16_SCALE = 300;

export interface PreprocessingRequest {
  /** Values are divided by this ("auto": 300 for int16 files without NIfTI scaling, as NSD's, else 1). */
  scale?: "auto" | number;
  /** Voxel-wise z-scoring: with the session's statistics ("session"), or with given reference statistics. */
  zscore?: "none" | "session" | { mean: number | number[]; std: number | number[] };
  /** Groups of row indices whose (scaled, z-scored) rows are averaged, e.g. an image's repeats. */
  average?: number[][];
}

export interface ZscoreApplied {
  kind: "none" | "session" | "reference";
  /** With "session": the trials the statistics came from (the whole session, not the rows requested). */
  trials?: number;
  zero_variance_voxels?: number;
}

/** What was done, echoed back to the caller. */
export interface PreprocessingApplied {
  scale: { divisor: number; source: "auto" | "request"; reason: string };
  zscore: ZscoreApplied & { sessions?: (ZscoreApplied & { upload_id: string })[] };
  average: { groups: number; trials_per_group: number[] } | null;
}

function refuse(detail: string): never {
  throw new ApiError("invalid_preprocessing", detail);
}

function chooseScale(request: PreprocessingRequest["scale"], file?: Pick<BetaFileInfo, "dtype" | "scaling">) {
  if (typeof request === "number") {
    if (!(Number.isFinite(request) && request > 0))
      refuse(`scale must be a positive number, not ${request}.`);
    return { divisor: request, source: "request" as const, reason: "given in the request" };
  }
  const nsdLike = !!file && /^[<>|]?i2$/.test(file.dtype) && !file.scaling;
  return nsdLike
    ? {
        divisor: NSD_INT16_SCALE,
        source: "auto" as const,
        reason: "int16 without NIfTI scaling: NSD's percent signal change x300",
      }
    : {
        divisor: 1,
        source: "auto" as const,
        reason: file ? `${file.dtype} values are used as stored` : "values are used as sent",
      };
}

function statistic(value: number | number[], voxels: number, name: string): Float64Array {
  const values = typeof value === "number" ? new Float64Array(voxels).fill(value) : Float64Array.from(value);
  if (values.length !== voxels)
    refuse(`zscore.${name} has ${values.length} values; it needs 1 or ${voxels} (one per voxel).`);
  if (!values.every(Number.isFinite)) refuse(`zscore.${name} holds non-finite values.`);
  return values;
}

/**
 * Scales and z-scores the rows of one session. With "session", `session` holds the statistics of the
 * whole session in stored units (an upload's, computed once); without it they come from these rows.
 */
export function normalizeSession(
  matrix: BetaMatrix,
  request: Pick<PreprocessingRequest, "scale" | "zscore"> = {},
  file?: Pick<BetaFileInfo, "dtype" | "scaling">,
  session?: SessionStatistics,
): BetaMatrix & { applied: Pick<PreprocessingApplied, "scale" | "zscore"> } {
  const [trials, voxels] = matrix.shape;
  const scale = chooseScale(request.scale ?? "auto", file);
  const zscoreRequest = request.zscore ?? "none";
  const data = new Float32Array(matrix.data.length);
  if (zscoreRequest === "session" && session) {
    // (x/d - m/d) / (s/d) = (x - m) / s: the session's statistics in stored units need no scaling.
    return {
      data: zscoreRows(matrix.data, voxels, session.mean, session.std, data),
      shape: [trials, voxels],
      applied: {
        scale,
        zscore: { kind: "session", trials: session.trials, zero_variance_voxels: session.zeroVarianceVoxels },
      },
    };
  }
  // x / 1 is x exactly, so with a divisor of 1 the values are used as they are, and copied (natively) only
  // when nothing else is written.
  let scaled = matrix.data;
  if (scale.divisor !== 1) {
    for (let i = 0; i < data.length; i++) data[i] = matrix.data[i]! / scale.divisor;
    scaled = data;
  }
  if (zscoreRequest === "none") {
    if (scaled !== data) data.set(scaled);
    return { data, shape: [trials, voxels], applied: { scale, zscore: { kind: "none" } } };
  }

  let mean: Float64Array;
  let std: Float64Array;
  let zscore: ZscoreApplied;
  if (zscoreRequest === "session") {
    if (trials < 2)
      refuse(
        "Session z-scoring needs the trials of a whole session (NSD: 750); upload the session, or send zscore {mean, std}.",
      );
    const stats = sessionStatistics(scaled, trials, voxels);
    ({ mean, std } = stats);
    zscore = { kind: "session", trials, zero_variance_voxels: stats.zeroVarianceVoxels };
  } else {
    mean = statistic(zscoreRequest.mean, voxels, "mean");
    std = statistic(zscoreRequest.std, voxels, "std");
    if (!std.every((s) => s > 0)) refuse("zscore.std must be positive for every voxel.");
    zscore = { kind: "reference" };
  }
  zscoreRows(scaled, voxels, mean, std, data);
  return { data, shape: [trials, voxels], applied: { scale, zscore } };
}

/**
 * Refuses `average` groups that do not fit `rows` rows, in time proportional to the request and before
 * anything is allocated for the output: at most one group per row, indices in range, each row at most once.
 */
export function checkAverageGroups(groups: readonly (readonly number[])[], rows: number): void {
  if (groups.length === 0) refuse("average needs at least one group of row indices, e.g. [[0, 1, 2]].");
  if (groups.length > rows)
    refuse(
      `average has ${groups.length} groups but there are ${rows} rows; each group averages distinct rows, so at most ${rows} groups.`,
    );
  const seen = new Uint8Array(rows);
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!;
    if (group.length === 0) refuse(`average group ${g} is empty.`);
    for (const t of group) {
      if (!Number.isInteger(t) || t < 0 || t >= rows)
        refuse(`average group ${g} names row ${t}; rows are numbered 0 to ${rows - 1}.`);
      if (seen[t]) refuse(`average names row ${t} twice; each row belongs to at most one group.`);
      seen[t] = 1;
    }
  }
}

/** Averages groups of rows (an image's repeats); the groups must have passed `checkAverageGroups`. */
export function averageRows(matrix: BetaMatrix, groups: readonly (readonly number[])[]): BetaMatrix {
  const [rows, voxels] = matrix.shape;
  checkAverageGroups(groups, rows);
  const out = new Float32Array(groups.length * voxels);
  const sums = new Float64Array(voxels);
  groups.forEach((group, g) => {
    sums.fill(0);
    for (const t of group) for (let v = 0; v < voxels; v++) sums[v]! += matrix.data[t * voxels + v]!;
    for (let v = 0; v < voxels; v++) out[g * voxels + v] = sums[v]! / group.length;
  });
  return { data: out, shape: [groups.length, voxels] };
}

export function averageApplied(
  groups: readonly (readonly number[])[] | undefined,
): PreprocessingApplied["average"] {
  return groups ? { groups: groups.length, trials_per_group: groups.map((g) => g.length) } : null;
}

/** Scales, z-scores, then averages repeats of one session, in the order MindEye's data preparation does. */
export function preprocessBetas(
  matrix: BetaMatrix,
  request: PreprocessingRequest = {},
  file?: Pick<BetaFileInfo, "dtype" | "scaling">,
  session?: SessionStatistics,
): BetaMatrix & { applied: PreprocessingApplied } {
  if (request.average) checkAverageGroups(request.average, matrix.shape[0]);
  const normalized = normalizeSession(matrix, request, file, session);
  const applied = { ...normalized.applied, average: averageApplied(request.average) };
  if (!request.average) return { data: normalized.data, shape: normalized.shape, applied };
  return { ...averageRows(normalized, request.average), applied };
}
