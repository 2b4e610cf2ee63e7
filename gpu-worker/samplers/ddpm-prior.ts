import type { DdpmSchedule } from "./cosine-schedule.ts";
import type { NoiseSource } from "./gaussian-generator.ts";
import { type StepHooks, throwIfAborted } from "./step-hooks.ts";

/** The network's x̂₀ for the current x_t at integer timestep t (all rows of the batch share t). */
export type PredictX0 = (x: Float32Array, t: number) => Promise<Float32Array>;

/**
 * The diffusion prior's ancestral DDPM loop as MindEye1 runs it (reference §2.2; ME1 `p_sample_loop_ddpm`
 * over D2P `p_mean_variance`): x_T ~ N(0, I), then for t = T-1 … 0 the network predicts x̂₀ (no clamp, no
 * L2 norm), x ← c1_t x̂₀ + c2_t x + [t > 0] exp(½ log β̃_t) z. A noise tensor is drawn at every step,
 * t = 0 included (where it is multiplied by 0), so the stream advances as ME1's does: 1 + T draws of
 * `size`. Returns x / imageEmbedScale, in a buffer the loop owns and reuses.
 */
export async function sampleDdpm(args: {
  schedule: DdpmSchedule;
  size: number;
  predictX0: PredictX0;
  generator: NoiseSource;
  imageEmbedScale: number;
  hooks?: StepHooks;
}): Promise<Float32Array> {
  const { schedule, size, predictX0, generator, imageEmbedScale, hooks = {} } = args;
  const x = generator.fill(new Float32Array(size));
  const noise = new Float32Array(size);
  for (let t = schedule.timesteps - 1; t >= 0; t--) {
    throwIfAborted(hooks.signal);
    const x0 = await predictX0(x, t);
    if (x0.length !== size) throw new Error(`prior returned ${x0.length} values, expected ${size}`);
    generator.fill(noise);
    const c1 = schedule.posteriorMeanCoef1[t]!;
    const c2 = schedule.posteriorMeanCoef2[t]!;
    const std = t > 0 ? Math.fround(Math.exp(0.5 * schedule.posteriorLogVarianceClipped[t]!)) : 0;
    for (let i = 0; i < size; i++) x[i] = c1 * x0[i]! + c2 * x[i]! + std * noise[i]!;
    hooks.onStep?.(schedule.timesteps - t, schedule.timesteps);
  }
  for (let i = 0; i < size; i++) x[i] = x[i]! / imageEmbedScale;
  return x;
}
