import type { HnswParams, Metric, Quantization } from "../vector-index.ts";

export interface EngineMatches {
  keys: bigint[];
  scores: number[];
}

export interface EngineSettings {
  dim: number;
  metric: Metric;
  quantization: Quantization;
  hnsw: HnswParams;
}

/**
 * The part of an embedded index that differs between usearch and exact search: vectors by 64-bit key.
 * Ids, payloads, filters and files are handled once, in EmbeddedIndex.
 */
export interface VectorEngine {
  /** Keys must not be present (EmbeddedIndex removes replaced keys first). */
  add(keys: BigUint64Array, vectors: Float32Array): void;
  remove(keys: BigUint64Array): void;
  /** Vectors arrive prepared for the metric (unit length for cosine). */
  search(queries: Float32Array[], k: number): EngineMatches[];
  size(): number;
  /** Writes the engine's file; the caller renames it into place. */
  save(file: string): Promise<void>;
}
