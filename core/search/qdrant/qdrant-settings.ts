import type { Schemas } from "@qdrant/js-client-rest";
import type { CreateIndexOptions } from "../vector-index.ts";

/** Deployment-wide settings of the Qdrant backend (from config; see docs/operations.md for sizing). */
export interface QdrantSettings {
  url: string;
  apiKey?: string;
  /** Fixed at creation; 12 scales to 1/2/3/6/12 nodes without resharding (serving-anchors §A5). */
  shardNumber: number;
  replicationFactor: number;
  writeConsistencyFactor: number;
  /** Candidates fetched from the quantized vectors per result, then rescored with the originals. */
  oversampling: number;
  hnswEf?: number;
  /** Points per upsert request: 256 x 768-d is ~4.5 MB of JSON, well under the 32 MiB request limit. */
  upsertBatchSize: number;
  /** Requests in flight at once from this process (upserts and batch queries). */
  concurrency: number;
  retries: number;
  timeoutMs: number;
}

export const DEFAULT_QDRANT_SETTINGS: Omit<QdrantSettings, "url"> = {
  shardNumber: 12,
  replicationFactor: 2,
  writeConsistencyFactor: 1,
  oversampling: 4,
  upsertBatchSize: 256,
  concurrency: 4,
  retries: 6,
  timeoutMs: 60_000,
};

/**
 * The collection for an index. `i8` is the billion-scale layout: float16 originals on disk (what LAION
 * ships), scalar int8 pinned in RAM, HNSW in RAM, payload on disk. `f32`/`f16` keep the originals in RAM,
 * for collections small enough to afford it.
 */
export function collectionConfig(
  options: CreateIndexOptions,
  settings: QdrantSettings,
): Schemas["CreateCollection"] {
  const quantized = options.quantization === "i8";
  return {
    vectors: {
      size: options.dim,
      distance: options.metric === "cosine" ? "Cosine" : "Dot",
      on_disk: quantized,
      datatype: options.quantization === "f32" || options.quantization === undefined ? "float32" : "float16",
    },
    ...(quantized
      ? { quantization_config: { scalar: { type: "int8", quantile: 0.99, always_ram: true } } }
      : {}),
    hnsw_config: {
      m: options.hnsw?.m ?? 16,
      ef_construct: options.hnsw?.efConstruction ?? 100,
      on_disk: false,
    },
    on_disk_payload: true,
    shard_number: settings.shardNumber,
    replication_factor: settings.replicationFactor,
    write_consistency_factor: settings.writeConsistencyFactor,
  };
}
