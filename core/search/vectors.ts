import { ApiError } from "../contracts/errors.ts";
import type { Metric } from "./vector-index.ts";

/**
 * A query or point vector as Float32, checked before it reaches any backend: JSON turns NaN and Infinity
 * into null, which Qdrant rejects with an opaque 400, and an HNSW graph silently breaks on them.
 */
export function checkedVector(
  vector: Float32Array | readonly number[],
  dim: number,
  what = "vector",
): Float32Array {
  if (vector.length !== dim) {
    throw new ApiError("invalid_vector", `${what} has ${vector.length} dimensions; this index has ${dim}`);
  }
  const out = vector instanceof Float32Array ? vector : Float32Array.from(vector);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) {
      throw new ApiError("invalid_vector", `${what} has a non-finite value (${out[i]}) at position ${i}`);
    }
  }
  return out;
}

export function dot(a: Float32Array, b: Float32Array, aOffset = 0, bOffset = 0, length = a.length): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  // Four accumulators let V8 pipeline the multiply-adds; this is the hot loop of exact search.
  for (; i + 3 < length; i += 4) {
    s0 += a[aOffset + i]! * b[bOffset + i]!;
    s1 += a[aOffset + i + 1]! * b[bOffset + i + 1]!;
    s2 += a[aOffset + i + 2]! * b[bOffset + i + 2]!;
    s3 += a[aOffset + i + 3]! * b[bOffset + i + 3]!;
  }
  for (; i < length; i++) s0 += a[aOffset + i]! * b[bOffset + i]!;
  return s0 + s1 + s2 + s3;
}

/** A unit-length copy; the zero vector stays zero (its cosine with anything is then 0, not NaN). */
export function normalized(vector: Float32Array): Float32Array {
  const norm = Math.sqrt(dot(vector, vector));
  const out = new Float32Array(vector.length);
  if (norm === 0) return out;
  for (let i = 0; i < vector.length; i++) out[i] = vector[i]! / norm;
  return out;
}

/** The form a metric compares: cosine is inner product between unit vectors. */
export function prepared(vector: Float32Array, metric: Metric): Float32Array {
  return metric === "cosine" ? normalized(vector) : vector;
}
