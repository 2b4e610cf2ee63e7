/**
 * The diffusion prior's noise schedule: DALLE2-pytorch 1.14.2 `cosine_beta_schedule` + `NoiseScheduler`
 * (reference §2.1; Nichol & Dhariwal 2021). Computed in float64 and stored as float32, as D2P registers
 * its buffers.
 */
export interface DdpmSchedule {
  timesteps: number;
  betas: Float32Array;
  alphasCumprod: Float32Array;
  /** posterior_mean_coef1/2: μ = c1 x̂₀ + c2 x_t. */
  posteriorMeanCoef1: Float32Array;
  posteriorMeanCoef2: Float32Array;
  posteriorVariance: Float32Array;
  /** log(max(β̃, 1e-20)): t = 0 has β̃ = 0, so -46.0517. */
  posteriorLogVarianceClipped: Float32Array;
}

export function cosineSchedule(timesteps: number, s = 0.008): DdpmSchedule {
  if (!Number.isInteger(timesteps) || timesteps < 1) throw new RangeError(`timesteps must be >= 1`);
  const f = (i: number) => Math.cos(((i / timesteps + s) / (1 + s)) * Math.PI * 0.5) ** 2;
  const f0 = f(0);
  const betas = new Float64Array(timesteps);
  for (let t = 0; t < timesteps; t++) {
    const beta = 1 - f(t + 1) / f0 / (f(t) / f0);
    betas[t] = Math.min(Math.max(beta, 0), 0.999);
  }
  const schedule: DdpmSchedule = {
    timesteps,
    betas: Float32Array.from(betas),
    alphasCumprod: new Float32Array(timesteps),
    posteriorMeanCoef1: new Float32Array(timesteps),
    posteriorMeanCoef2: new Float32Array(timesteps),
    posteriorVariance: new Float32Array(timesteps),
    posteriorLogVarianceClipped: new Float32Array(timesteps),
  };
  let cumprod = 1;
  for (let t = 0; t < timesteps; t++) {
    const beta = betas[t]!;
    const previous = cumprod;
    cumprod *= 1 - beta;
    const variance = (beta * (1 - previous)) / (1 - cumprod);
    schedule.alphasCumprod[t] = cumprod;
    schedule.posteriorMeanCoef1[t] = (beta * Math.sqrt(previous)) / (1 - cumprod);
    schedule.posteriorMeanCoef2[t] = ((1 - previous) * Math.sqrt(1 - beta)) / (1 - cumprod);
    schedule.posteriorVariance[t] = variance;
    schedule.posteriorLogVarianceClipped[t] = Math.log(Math.max(variance, 1e-20));
  }
  return schedule;
}
