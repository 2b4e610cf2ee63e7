/** Deterministic test data: xorshift32 uniform numbers and clustered unit vectors (CLIP-like neighbourhoods). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
}

/** `clusters` random unit vectors. */
export function clusterCentres(clusters: number, dim: number, seed: number): Float32Array[] {
  const random = seededRandom(seed);
  return Array.from({ length: clusters }, () =>
    unit(Float32Array.from({ length: dim }, () => gaussian(random))),
  );
}

/**
 * `count` unit vectors, each a random centre plus N(0, noise^2) per dimension, row-major in one
 * Float32Array. Pass `centres` to draw several chunks around one shared set of clusters.
 */
export function clusteredVectors(
  count: number,
  dim: number,
  options: { clusters: number; noise: number; seed: number; centres?: Float32Array[] },
): Float32Array {
  const random = seededRandom(options.seed);
  const centres = options.centres ?? clusterCentres(options.clusters, dim, options.seed ^ 0x5bd1e995);
  const out = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    const centre = centres[Math.floor(random() * centres.length)]!;
    const row = unit(Float32Array.from(centre, (c) => c + options.noise * gaussian(random)));
    out.set(row, i * dim);
  }
  return out;
}

function unit(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  return v.map((x) => x / norm);
}

export function rowOf(matrix: Float32Array, dim: number, i: number): Float32Array {
  return matrix.subarray(i * dim, (i + 1) * dim);
}
