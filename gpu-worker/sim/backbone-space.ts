/**
 * sim01's backbone output lives in its own space, as MindEye1's backbone (the diffusion prior's input) is not
 * the space its retrieval head compares with CLIP images: backbone = (stand-in CLIP prediction) x R for a
 * fixed random rotation R of the flattened tokens, and the retrieval head undoes it (x R^T) before the L2
 * normalisation. Searching the stimulus index with the backbone output therefore finds nothing.
 */
import type { Prng } from "./prng.ts";

/** A uniformly random n x n rotation, row-major: Gram-Schmidt (twice, for float64 stability) on Gaussians. */
export function randomRotation(rng: Prng, n: number): Float64Array {
  const q = Float64Array.from({ length: n * n }, () => rng.gaussian());
  for (let i = 0; i < n; i++) {
    const row = q.subarray(i * n, (i + 1) * n);
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < i; j++) {
        const prior = q.subarray(j * n, (j + 1) * n);
        let dot = 0;
        for (let k = 0; k < n; k++) dot += row[k]! * prior[k]!;
        for (let k = 0; k < n; k++) row[k]! -= dot * prior[k]!;
      }
    }
    const norm = Math.hypot(...row);
    for (let k = 0; k < n; k++) row[k]! /= norm;
  }
  return q;
}

/** a [rows, n] x r [n, n], row-major, in float64. */
export function rotateRows(a: ArrayLike<number>, rows: number, r: Float64Array, n: number): Float64Array {
  const out = new Float64Array(rows * n);
  for (let i = 0; i < rows; i++) {
    const o = out.subarray(i * n, (i + 1) * n);
    for (let k = 0; k < n; k++) {
      const v = a[i * n + k]!;
      if (v === 0) continue;
      const rk = r.subarray(k * n, (k + 1) * n);
      for (let j = 0; j < n; j++) o[j]! += v * rk[j]!;
    }
  }
  return out;
}
