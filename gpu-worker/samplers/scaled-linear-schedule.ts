/**
 * The decoder's noise schedule: diffusers 0.13.0 `scaled_linear` as Versatile Diffusion configures it
 * (reference §3.2: β from √0.00085 to √0.012 over 1000 steps, squared). Every array is float32 and built
 * the way torch builds it on CPU: float32 linspace, cumprod accumulated in float64 then rounded, α, σ, λ
 * in float32. torch's vectorised linspace rounds differently per CPU, so this matches its ᾱ to ~1e-6
 * relative, not bit for bit (fixtures/samplers/README.md).
 */
export interface VpSchedule {
  trainTimesteps: number;
  betas: Float32Array;
  alphasCumprod: Float32Array;
  /** α_t = √ᾱ_t, σ_t = √(1 − ᾱ_t), λ_t = log α_t − log σ_t. */
  alpha: Float32Array;
  sigma: Float32Array;
  lambda: Float32Array;
}

const f = Math.fround;

export function scaledLinearSchedule(
  trainTimesteps = 1000,
  betaStart = 0.00085,
  betaEnd = 0.012,
): VpSchedule {
  const start = f(Math.sqrt(betaStart));
  const end = f(Math.sqrt(betaEnd));
  const step = f(f(end - start) / (trainTimesteps - 1));
  const halfway = Math.floor(trainTimesteps / 2);
  const betas = new Float32Array(trainTimesteps);
  for (let i = 0; i < trainTimesteps; i++) {
    // torch's linspace fills the first half from the start and the second half back from the end.
    const root = i < halfway ? f(start + f(step * i)) : f(end - f(step * (trainTimesteps - 1 - i)));
    betas[i] = f(root * root);
  }
  const alphasCumprod = new Float32Array(trainTimesteps);
  let product = 1;
  for (let i = 0; i < trainTimesteps; i++) {
    product *= f(1 - betas[i]!);
    alphasCumprod[i] = product;
  }
  const alpha = alphasCumprod.map((a) => Math.sqrt(a));
  const sigma = alphasCumprod.map((a) => Math.sqrt(f(1 - a)));
  const lambda = alpha.map((a, i) => f(f(Math.log(a)) - f(Math.log(sigma[i]!))));
  return { trainTimesteps, betas, alphasCumprod, alpha, sigma, lambda };
}
