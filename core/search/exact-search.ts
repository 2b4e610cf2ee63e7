import { dot } from "./vectors.ts";

export interface TopK {
  rows: number[];
  scores: number[];
}

/**
 * The k rows of `matrix` (row-major, `dim` wide) with the largest inner product with `query`, best first.
 * Brute force: the ground truth the approximate backends are measured against.
 */
export function exactTopK(
  matrix: Float32Array,
  dim: number,
  query: Float32Array,
  k: number,
  accept: (row: number) => boolean = () => true,
): TopK {
  const rowCount = Math.floor(matrix.length / dim);
  const rows: number[] = [];
  const scores: number[] = [];
  for (let row = 0; row < rowCount; row++) {
    const score = dot(query, matrix, 0, row * dim, dim);
    if (scores.length === k && score <= scores[k - 1]!) continue;
    if (!accept(row)) continue;
    // Insertion into a short sorted list beats a heap for the k (<= a few hundred) that searches use.
    let at = scores.length;
    while (at > 0 && scores[at - 1]! < score) at--;
    scores.splice(at, 0, score);
    rows.splice(at, 0, row);
    if (scores.length > k) {
      scores.pop();
      rows.pop();
    }
  }
  return { rows, scores };
}
