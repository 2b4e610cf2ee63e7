/**
 * diffusers' `add_noise` (reference §3.6): x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε. The coefficients take the dtype
 * of the samples; MindEye1 ran its latents in float16, so its coefficients were float16 (0.1534 and 0.9883
 * at t = 849, against float32 0.15337 and 0.98817). `coefficients` says which to reproduce.
 */
export function addNoise(
  original: Float32Array,
  noise: Float32Array,
  alphaCumprod: number,
  out: Float32Array,
  coefficients: "float16" | "float32",
): Float32Array {
  const round = coefficients === "float16" ? roundToFloat16 : Math.fround;
  // diffusers casts ᾱ itself to the sample dtype before taking the roots.
  const cumprod = round(alphaCumprod);
  const signal = round(Math.sqrt(cumprod));
  const noiseScale = round(Math.sqrt(round(1 - cumprod)));
  if (noise.length !== out.length || original.length !== out.length) {
    throw new Error(`add_noise sizes differ: ${original.length}, ${noise.length}, ${out.length}`);
  }
  for (let i = 0; i < out.length; i++) out[i] = signal * original[i]! + noiseScale * noise[i]!;
  return out;
}

/** Nearest float16 value (ties to even) of a finite number in float16's normal range or zero. */
export function roundToFloat16(value: number): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  const magnitude = Math.abs(value);
  let exponent = Math.floor(Math.log2(magnitude));
  if (2 ** exponent > magnitude)
    exponent -= 1; // log2 can round across a power of two
  else if (2 ** (exponent + 1) <= magnitude) exponent += 1;
  exponent = Math.max(exponent, -14);
  const ulp = 2 ** (exponent - 10);
  const scaled = magnitude / ulp;
  let units = Math.round(scaled);
  if (units - scaled === 0.5 && units % 2 === 1) units -= 1;
  return Math.sign(value) * units * ulp;
}
