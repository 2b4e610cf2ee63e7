/**
 * The fixed image encoder that stands in for CLIP: token 0 is tanh of a random projection of the image's
 * mean patch (a global summary), tokens 1..16 are tanh of a random projection of each 16x16 patch. The same
 * weights are baked into the bundle's clip_image ONNX graph (onnx-graphs.ts), which must agree with this.
 */
import type { Prng } from "./prng.ts";
import {
  EMBEDDING_VALUES,
  IMAGE_SIZE,
  PATCH_GRID,
  PATCH_SIZE,
  PATCH_VALUES,
  TOKEN_DIM,
} from "./sim01-spec.ts";

export interface EncoderWeights {
  /** [TOKEN_DIM, PATCH_VALUES], row-major. */
  patch: Float32Array;
  /** [TOKEN_DIM, PATCH_VALUES], row-major. */
  global: Float32Array;
}

/** Gains that put the projections' SD near 1 over the stimulus set, where tanh bends but rarely saturates. */
const PATCH_GAIN = 3;
const GLOBAL_GAIN = 4;

export function encoderWeights(rng: Prng): EncoderWeights {
  const draw = (gain: number) =>
    Float32Array.from(
      { length: TOKEN_DIM * PATCH_VALUES },
      () => (gain * rng.gaussian()) / Math.sqrt(PATCH_VALUES),
    );
  return { patch: draw(PATCH_GAIN), global: draw(GLOBAL_GAIN) };
}

/** The encoder's input: float32 [3, H, W] in [0, 1] (CHW, as the clip_image graph takes it). */
export function imageTensor(pixels: Uint8Array): Float32Array {
  const planes = new Float32Array(3 * IMAGE_SIZE * IMAGE_SIZE);
  for (let i = 0; i < IMAGE_SIZE * IMAGE_SIZE; i++) {
    for (let c = 0; c < 3; c++) planes[c * IMAGE_SIZE * IMAGE_SIZE + i] = pixels[i * 3 + c]! / 255;
  }
  return planes;
}

/** Patch p's values minus 0.5 in (channel, row, column) order, for each patch in row-major patch order. */
function patches(chw: Float32Array): Float64Array[] {
  const out: Float64Array[] = [];
  for (let py = 0; py < PATCH_GRID; py++) {
    for (let px = 0; px < PATCH_GRID; px++) {
      const values = new Float64Array(PATCH_VALUES);
      let k = 0;
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < PATCH_SIZE; y++) {
          const row = c * IMAGE_SIZE * IMAGE_SIZE + (py * PATCH_SIZE + y) * IMAGE_SIZE + px * PATCH_SIZE;
          for (let x = 0; x < PATCH_SIZE; x++) values[k++] = chw[row + x]! - 0.5;
        }
      }
      out.push(values);
    }
  }
  return out;
}

function projectTanh(weights: Float32Array, values: Float64Array, out: Float32Array, token: number): void {
  for (let d = 0; d < TOKEN_DIM; d++) {
    let sum = 0;
    const row = d * PATCH_VALUES;
    for (let k = 0; k < PATCH_VALUES; k++) sum += weights[row + k]! * values[k]!;
    out[token * TOKEN_DIM + d] = Math.tanh(sum);
  }
}

/** [TOKENS, TOKEN_DIM] embedding of one image given as CHW float32 (imageTensor). */
export function encodeImage(weights: EncoderWeights, chw: Float32Array): Float32Array {
  const embedding = new Float32Array(EMBEDDING_VALUES);
  const all = patches(chw);
  const mean = new Float64Array(PATCH_VALUES);
  for (const p of all) for (let k = 0; k < PATCH_VALUES; k++) mean[k]! += p[k]! / all.length;
  projectTanh(weights.global, mean, embedding, 0);
  for (const [i, p] of all.entries()) projectTanh(weights.patch, p, embedding, 1 + i);
  return embedding;
}

/** The retrieval-space vector of an embedding: its tokens flattened and L2-normalised (`flatten_l2`). */
export function retrievalVector(embedding: Float32Array): Float32Array {
  let norm = 0;
  for (const v of embedding) norm += v * v;
  norm = Math.sqrt(norm) || 1;
  return embedding.map((v) => v / norm);
}
