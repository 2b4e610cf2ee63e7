import type { QdrantClient, Schemas } from "@qdrant/js-client-rest";
import pLimit from "p-limit";
import { ApiError } from "../../contracts/errors.ts";
import { checkFilter } from "../payload-filter.ts";
import type { Metric, PointId, QueryOptions, SearchHit, VectorIndex, VectorPoint } from "../vector-index.ts";
import { checkedVector } from "../vectors.ts";
import { hitOf, qdrantPoint, qdrantPointId, queryRequest } from "./qdrant-requests.ts";
import { withRetries } from "./qdrant-retry.ts";
import type { QdrantSettings } from "./qdrant-settings.ts";

/** One Qdrant collection as a VectorIndex. Every call retries transient failures (qdrant-retry.ts). */
export class QdrantIndex implements VectorIndex {
  readonly backend = "qdrant" as const;
  private readonly limit: ReturnType<typeof pLimit>;

  constructor(
    private readonly client: QdrantClient,
    readonly name: string,
    readonly dim: number,
    readonly metric: Metric,
    /** True when the collection keeps int8 vectors in RAM and originals on disk (two-stage query). */
    private readonly quantized: boolean,
    private readonly settings: QdrantSettings,
  ) {
    this.limit = pLimit(settings.concurrency);
  }

  async upsert(points: readonly VectorPoint[]): Promise<void> {
    // Refuse NaN/Inf before anything is sent: JSON would carry them as null and Qdrant would answer 400.
    const body = points.map((p) =>
      qdrantPoint(p.id, checkedVector(p.vector, this.dim, `point ${JSON.stringify(p.id)}`), p.payload),
    );
    const batches: Schemas["PointStruct"][][] = [];
    for (let i = 0; i < body.length; i += this.settings.upsertBatchSize) {
      batches.push(body.slice(i, i + this.settings.upsertBatchSize));
    }
    await Promise.all(
      batches.map((batch) =>
        this.limit(() =>
          this.call("upsert", () => this.client.upsert(this.name, { wait: true, points: batch })),
        ),
      ),
    );
  }

  async query(vector: Float32Array | readonly number[], options: QueryOptions): Promise<SearchHit[]> {
    checkFilter(options.filter);
    const request = queryRequest(checkedVector(vector, this.dim, "query"), options.k, options.filter, {
      quantized: this.quantized,
      oversampling: this.settings.oversampling,
      hnswEf: this.settings.hnswEf,
    });
    const response = await this.call("query", () => this.client.query(this.name, request));
    return response.points.map(hitOf);
  }

  /**
   * Single queries with bounded concurrency: the universal query's /points/query/batch is not in the
   * OpenAPI document this adapter is checked against, and per-query calls retry independently.
   */
  queryBatch(
    vectors: readonly (Float32Array | readonly number[])[],
    options: QueryOptions,
  ): Promise<SearchHit[][]> {
    return Promise.all(vectors.map((vector) => this.limit(() => this.query(vector, options))));
  }

  async count(): Promise<number> {
    const result = await this.call("count", () => this.client.count(this.name, { exact: true }));
    return result.count;
  }

  async delete(ids: readonly PointId[]): Promise<void> {
    if (ids.length === 0) return;
    await this.call("delete", () =>
      this.client.delete(this.name, { wait: true, points: ids.map(qdrantPointId) }),
    );
  }

  /** Writes are sent with wait=true, so an acknowledged upsert is already durable in Qdrant's WAL. */
  async flush(): Promise<void> {}

  async close(): Promise<void> {}

  private call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withRetries(
      `${what} on collection "${this.name}"`,
      this.settings.retries,
      fn,
      () => new ApiError("index_not_found", `there is no index named "${this.name}"`),
    );
  }
}
