import type { BetaMatrix, PreprocessingApplied } from "../betas/index.ts";
import type { TrainingInput } from "../contracts/bundle-manifest.ts";

/** A sign that the input does not look like what the model was trained on; the response still succeeds. */
export interface InputWarning {
  code: "input_scale" | "input_not_centred" | "not_zscored" | "few_trials_zscore";
  detail: string;
}

/** Session z-scoring over fewer trials than this gets a warning (NSD sessions have 750). */
export const FEW_SESSION_TRIALS = 200;
// Per-voxel means are only judged over enough rows for their noise (~std/sqrt(rows)) to be small.
const MIN_ROWS_FOR_MEANS = 20;

/**
 * Compares the rows the model gets (scaled and z-scored, before averaging) with the bundle's record of its
 * training inputs. Linear in the rows; the thresholds are loose (x3 in scale, half a std in mean), so only
 * input that is clearly off (unscaled x300 values, raw PSC for a z-scored model) is flagged.
 */
export function inputWarnings(
  rows: BetaMatrix,
  context: {
    modelId: string;
    training: TrainingInput | undefined;
    applied: Pick<PreprocessingApplied, "zscore">;
    zscoreDefaulted: boolean;
    inline: boolean;
  },
): InputWarning[] {
  const warnings: InputWarning[] = [];
  const { training, applied, modelId } = context;
  const sessionTrials = applied.zscore.sessions?.map((s) => s.trials ?? 0) ?? [applied.zscore.trials ?? 0];
  if (applied.zscore.kind === "session" && Math.min(...sessionTrials) < FEW_SESSION_TRIALS) {
    warnings.push({
      code: "few_trials_zscore",
      detail:
        `Session z-scoring used statistics over ${Math.min(...sessionTrials)} trials; with fewer than ` +
        `${FEW_SESSION_TRIALS} they are noisy. Upload whole sessions (NSD: 750 trials each).`,
    });
  }
  if (!training) return warnings;
  if (
    training.zscore === "session" &&
    applied.zscore.kind === "none" &&
    context.zscoreDefaulted &&
    context.inline
  ) {
    warnings.push({
      code: "not_zscored",
      detail:
        `Inline betas are not z-scored unless asked, and ${modelId} was trained on betas z-scored per voxel ` +
        "over each whole session. Upload the session (z-scored with its own statistics), send zscore " +
        '{"mean", "std"}, or, if these rows are z-scored already, say zscore "none".',
    });
  }
  const [count, voxels] = rows.shape;
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < rows.data.length; i++) {
    const v = rows.data[i]!;
    sum += v;
    squares += v * v;
  }
  const n = rows.data.length;
  const rms = Math.sqrt(Math.max(squares / n - (sum / n) ** 2, 0));
  const ratio = rms / training.voxel_std;
  if (ratio > 3 || ratio < 1 / 3) {
    const x300 = ratio > 100 && ratio < 3000;
    warnings.push({
      code: "input_scale",
      detail:
        `The betas vary by ${rms.toPrecision(3)} (std over all values); ${modelId}'s training inputs vary by ` +
        `${training.voxel_std}. ` +
        (x300
          ? "They look like NSD's int16 percent signal change x300: send preprocessing.scale 300 (uploaded int16 files are divided by 300 automatically) and z-score per session."
          : "Z-score each session per voxel (upload the session, or send zscore {mean, std})."),
    });
  }
  if (count >= MIN_ROWS_FOR_MEANS) {
    const means = new Float64Array(voxels);
    for (let t = 0; t < count; t++) for (let v = 0; v < voxels; v++) means[v]! += rows.data[t * voxels + v]!;
    let offSquares = 0;
    for (let v = 0; v < voxels; v++) offSquares += (means[v]! / count - training.voxel_mean) ** 2;
    const off = Math.sqrt(offSquares / voxels);
    if (off > training.voxel_std / 2) {
      warnings.push({
        code: "input_not_centred",
        detail:
          `Per-voxel means over these ${count} rows are ${off.toPrecision(3)} (RMS) from ${training.voxel_mean}, ` +
          `where ${modelId}'s training inputs sit. Z-score each session per voxel with that session's statistics.`,
      });
    }
  }
  return warnings;
}
