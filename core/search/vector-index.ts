/**
 * The vector search contract every backend implements (usearch embedded, Qdrant at scale, exact search as
 * ground truth). Scores are similarities: higher is closer (cosine, or inner product for `ip`).
 */

export type Metric = "cosine" | "ip";
/** How vectors are stored and searched: full floats, half floats, or int8 (Qdrant: int8 in RAM, originals on disk). */
export type Quantization = "f32" | "f16" | "i8";
export type Backend = "usearch" | "exact" | "qdrant";

/** Non-negative safe integers, or strings. Ingested LAION rows use numeric ids (see ingest/point-ids.ts). */
export type PointId = string | number;
export type PayloadValue = string | number | boolean | null;
export type Payload = Record<string, PayloadValue>;

/** All conditions must hold: equality with one value, or membership in a list. */
export type PayloadFilter = Record<string, PayloadValue | { in: readonly PayloadValue[] }>;

export interface VectorPoint {
  id: PointId;
  vector: Float32Array | readonly number[];
  payload?: Payload;
}

export interface SearchHit {
  id: PointId;
  score: number;
  payload: Payload;
}

export interface QueryOptions {
  k: number;
  filter?: PayloadFilter;
}

export interface HnswParams {
  /** Graph degree (usearch connectivity, Qdrant m). */
  m: number;
  efConstruction: number;
  efSearch: number;
}

export interface CreateIndexOptions {
  dim: number;
  metric: Metric;
  quantization?: Quantization;
  hnsw?: Partial<HnswParams>;
  /** Payload fields that filters will use; Qdrant builds their indexes before any upload. */
  payloadIndexes?: Record<string, "keyword" | "integer" | "float" | "bool">;
}

export interface IndexInfo {
  name: string;
  dim: number;
  metric: Metric;
  count: number;
  backend: Backend;
}

export interface VectorIndex {
  readonly name: string;
  readonly dim: number;
  readonly metric: Metric;
  readonly backend: Backend;
  /** Inserts or replaces points by id. Vectors must be finite and `dim` long (ApiError invalid_vector). */
  upsert(points: readonly VectorPoint[]): Promise<void>;
  query(vector: Float32Array | readonly number[], options: QueryOptions): Promise<SearchHit[]>;
  queryBatch(
    vectors: readonly (Float32Array | readonly number[])[],
    options: QueryOptions,
  ): Promise<SearchHit[][]>;
  count(): Promise<number>;
  /** Removes points by id; missing ids are ignored. */
  delete(ids: readonly PointId[]): Promise<void>;
  /** Makes every acknowledged write durable (embedded: writes the index files; Qdrant: a no-op, writes wait). */
  flush(): Promise<void>;
  /**
   * Merges what flushes appended into one searchable unit; resolves to whether there was work
   * (embedded: folds segments into one; Qdrant optimises by itself and has no such call).
   */
  compact?(): Promise<boolean>;
  /** Makes writes durable; a store's shared, served index stays open until the store closes. */
  close(): Promise<void>;
}

/** The set of named indexes one deployment serves (`GET /v1/indexes`). */
export interface VectorStore {
  /** The backend new indexes get; an embedded store also opens the other embedded kind. */
  readonly backend: Backend;
  list(): Promise<IndexInfo[]>;
  /** Throws ApiError index_not_found. */
  open(name: string): Promise<VectorIndex>;
  /** Throws ApiError conflict when the name is taken. */
  create(name: string, options: CreateIndexOptions): Promise<VectorIndex>;
  /** Dropping a missing index is not an error. */
  drop(name: string): Promise<void>;
  close(): Promise<void>;
}
