/**
 * Classifier-free guidance as MindEye1 lays it out (reference §1.2 rows 9, 18): one model call at batch
 * 2N with the unconditional half first, its context all zeros (not VD's grey-image embedding), then
 * ε = ε_u + w (ε_c − ε_u).
 */

/** [zeros; conditions]: the 2N-row context for N conditions of `rowSize` values each. */
export function guidanceContext(conditions: Float32Array): Float32Array {
  const context = new Float32Array(conditions.length * 2);
  context.set(conditions, conditions.length);
  return context;
}

/** Writes [latents; latents] into `batch` (2N rows). */
export function duplicateRows(latents: Float32Array, batch: Float32Array): Float32Array {
  batch.set(latents, 0);
  batch.set(latents, latents.length);
  return batch;
}

/** ε_u + w (ε_c − ε_u) for a 2N-row ε laid out [unconditional; conditional], into `out` (N rows). */
export function combineGuidance(eps: Float32Array, scale: number, out: Float32Array): Float32Array {
  const half = out.length;
  if (eps.length !== 2 * half) throw new Error(`guided eps has ${eps.length} values, expected ${2 * half}`);
  for (let i = 0; i < half; i++) {
    const unconditional = eps[i]!;
    out[i] = unconditional + scale * (eps[half + i]! - unconditional);
  }
  return out;
}
