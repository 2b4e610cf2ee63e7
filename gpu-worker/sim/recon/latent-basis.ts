/**
 * sim01's VAE stand-in: an exact linear autoencoder between 64×64 images and [4, 8, 8] latents. Per 8×8
 * block of the image in VAE units (2x − 1), channels 0–2 hold the block's mean of R, G and B and channel 3
 * its grey left-minus-right half difference; the patterns are orthogonal, so decode then encode is the
 * identity on latents. `scale` (fitted) puts the scaled latent (×0.18215, what the UNet sees) near unit
 * variance, as SD's VAE does.
 */
import { IMAGE_SIZE } from "../sim01-spec.ts";

export const LATENT_CHANNELS = 4;
export const BLOCK = 8;
export const LATENT_SIDE = IMAGE_SIZE / BLOCK;
export const LATENT_VALUES = LATENT_CHANNELS * LATENT_SIDE * LATENT_SIDE;
export const VAE_SCALE_FACTOR = 0.18215;

/** Weight of latent channel `latent` on image channel `colour` at block pixel (y, x): the decoder's kernel. */
export function decoderPattern(latent: number, colour: number, x: number): number {
  if (latent < 3) return latent === colour ? 1 : 0;
  return x < BLOCK / 2 ? 1 : -1;
}

/** Its dual (the encoder's kernel): pattern / ‖pattern‖², so encode ∘ decode = identity. */
export function encoderPattern(latent: number, colour: number, x: number): number {
  const squares = latent < 3 ? BLOCK * BLOCK : 3 * BLOCK * BLOCK;
  return decoderPattern(latent, colour, x) / squares;
}

/** Scaled latent [LATENT_VALUES] of one CHW [0, 1] image: basis coefficients of 2x − 1, divided by `scale`. */
export function encodeLatent(chw: Float32Array, scale: number): Float32Array {
  const out = new Float32Array(LATENT_VALUES);
  const plane = IMAGE_SIZE * IMAGE_SIZE;
  for (let l = 0; l < LATENT_CHANNELS; l++) {
    for (let by = 0; by < LATENT_SIDE; by++) {
      for (let bx = 0; bx < LATENT_SIDE; bx++) {
        let sum = 0;
        for (let c = 0; c < 3; c++) {
          for (let y = 0; y < BLOCK; y++) {
            const row = c * plane + (by * BLOCK + y) * IMAGE_SIZE + bx * BLOCK;
            for (let x = 0; x < BLOCK; x++) sum += encoderPattern(l, c, x) * (2 * chw[row + x]! - 1);
          }
        }
        out[(l * LATENT_SIDE + by) * LATENT_SIDE + bx] = sum / scale;
      }
    }
  }
  return out;
}
