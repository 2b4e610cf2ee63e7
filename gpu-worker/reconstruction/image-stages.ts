/** Host-side arithmetic around the VAE and CLIP graphs (reference §1.2 rows 13–14, 19–22). */

/** CLIP's per-channel mean and std (OpenAI ViT-L/14). */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/** latent / vaeScaleFactor, the VAE decoder's input. */
export function unscaleLatent(latent: Float32Array, vaeScaleFactor: number): Float32Array {
  return latent.map((v) => v / vaeScaleFactor);
}

/** The decoder's raw image as [0, 1]: /2 + 0.5, clamped only when asked (the blurry image is not). */
export function decodedToUnit(raw: Float32Array, clamp: boolean): Float32Array {
  return raw.map((v) => {
    const unit = v / 2 + 0.5;
    return clamp ? Math.min(Math.max(unit, 0), 1) : unit;
  });
}

/**
 * MindEye1's img2img init: the blurry image CLIP-normalised, (x − mean_c)/std_c, where the VAE expects
 * 2x − 1 (the quirk of §1.2 row 13; its range is about [−1.8, 2.2]). `images` is [batch, 3, H, W].
 */
export function clipNormalize(images: Float32Array, dims: readonly number[]): Float32Array {
  const plane = dims[2]! * dims[3]!;
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) {
    const channel = Math.floor(i / plane) % 3;
    out[i] = (images[i]! - CLIP_MEAN[channel]!) / CLIP_STD[channel]!;
  }
  return out;
}

/** z = (mean + exp(½ logvar) n) · vaeScaleFactor: one posterior sample (logvar arrives clamped). */
export function samplePosterior(
  mean: Float32Array,
  logvar: Float32Array,
  noise: Float32Array,
  vaeScaleFactor: number,
): Float32Array {
  return mean.map((m, i) => (m + Math.exp(0.5 * logvar[i]!) * noise[i]!) * vaeScaleFactor);
}

/** `rows` copies of one row. */
export function repeatRows(row: Float32Array, rows: number): Float32Array {
  const out = new Float32Array(row.length * rows);
  for (let r = 0; r < rows; r++) out.set(row, r * row.length);
  return out;
}
