import { ApiError } from "../contracts/errors.ts";
import type { BetaFileInfo } from "./beta-file.ts";
import type { BetaMatrix } from "./input-space.ts";

/** NSD stores percent signal change x300 as int16 (NSD data manual). */
export const NSD_INT16_SCALE = 300;

export interface PreprocessingRequest {
  /** Values are divided by this ("auto": 300 for int16 files without NIfTI scaling, as NSD's, else 1). */
  scale?: "auto" | number;
  /** Voxel-wise z-scoring: over this request's trials ("session"), or with given reference statistics. */
  zscore?: "none" | "session" | { mean: number | number[]; std: number | number[] };
  /** Groups of trial indices whose (scaled, z-scored) rows are averaged, e.g. an image's repeats. */
  average?: number[][];
}

/** What was done, echoed back to the caller. */
export interface PreprocessingApplied {
  scale: { divisor: number; source: "auto" | "request"; reason: string };
  zscore: { kind: "none" | "session" | "reference"; trials?: number; zero_variance_voxels?: number };
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

/** Per-voxel mean and population std over trials (ddof 0, as sklearn's StandardScaler). */
function sessionStatistics(data: Float32Array, trials: number, voxels: number) {
  const mean = new Float64Array(voxels);
  const std = new Float64Array(voxels);
  for (let t = 0; t < trials; t++) for (let v = 0; v < voxels; v++) mean[v]! += data[t * voxels + v]!;
  for (let v = 0; v < voxels; v++) mean[v]! /= trials;
  for (let t = 0; t < trials; t++) {
    for (let v = 0; v < voxels; v++) {
      const d = data[t * voxels + v]! - mean[v]!;
      std[v]! += d * d;
    }
  }
  let zeroVariance = 0;
  for (let v = 0; v < voxels; v++) {
    std[v] = Math.sqrt(std[v]! / trials);
    // StandardScaler leaves constant voxels unscaled (they become 0 after centring).
    if (std[v] === 0) {
      std[v] = 1;
      zeroVariance++;
    }
  }
  return { mean, std, zeroVariance };
}

function averageGroups(data: Float32Array, trials: number, voxels: number, groups: number[][]): Float32Array {
  if (groups.length === 0) refuse("average needs at least one group of trial indices.");
  const out = new Float32Array(groups.length * voxels);
  const sums = new Float64Array(voxels);
  groups.forEach((group, g) => {
    if (group.length === 0) refuse(`average group ${g} is empty.`);
    sums.fill(0);
    for (const t of group) {
      if (!Number.isInteger(t) || t < 0 || t >= trials) {
        refuse(`average group ${g} names trial ${t}; trials are numbered 0 to ${trials - 1}.`);
      }
      for (let v = 0; v < voxels; v++) sums[v]! += data[t * voxels + v]!;
    }
    for (let v = 0; v < voxels; v++) out[g * voxels + v] = sums[v]! / group.length;
  });
  return out;
}

/** Scales, z-scores, then averages repeats, in the order MindEye's data preparation does. */
export function preprocessBetas(
  matrix: BetaMatrix,
  request: PreprocessingRequest = {},
  file?: Pick<BetaFileInfo, "dtype" | "scaling">,
): BetaMatrix & { applied: PreprocessingApplied } {
  const [trials, voxels] = matrix.shape;
  const scale = chooseScale(request.scale ?? "auto", file);
  const data = new Float32Array(matrix.data.length);
  for (let i = 0; i < data.length; i++) data[i] = matrix.data[i]! / scale.divisor;

  const zscoreRequest = request.zscore ?? "none";
  let zscore: PreprocessingApplied["zscore"] = { kind: "none" };
  if (zscoreRequest !== "none") {
    let mean: Float64Array;
    let std: Float64Array;
    if (zscoreRequest === "session") {
      if (trials < 2)
        refuse(
          "Session z-scoring needs many trials of one session (at least 2, ideally all 750); send more trials or use zscore 'none' or reference statistics.",
        );
      const stats = sessionStatistics(data, trials, voxels);
      ({ mean, std } = stats);
      zscore = { kind: "session", trials, zero_variance_voxels: stats.zeroVariance };
    } else {
      mean = statistic(zscoreRequest.mean, voxels, "mean");
      std = statistic(zscoreRequest.std, voxels, "std");
      if (!std.every((s) => s > 0)) refuse("zscore.std must be positive for every voxel.");
      zscore = { kind: "reference" };
    }
    for (let t = 0; t < trials; t++) {
      for (let v = 0; v < voxels; v++) data[t * voxels + v] = (data[t * voxels + v]! - mean[v]!) / std[v]!;
    }
  }

  if (!request.average) return { data, shape: [trials, voxels], applied: { scale, zscore, average: null } };
  const averaged = averageGroups(data, trials, voxels, request.average);
  return {
    data: averaged,
    shape: [request.average.length, voxels],
    applied: {
      scale,
      zscore,
      average: { groups: request.average.length, trials_per_group: request.average.map((g) => g.length) },
    },
  };
}
