import { QdrantClient, type Schemas } from "@qdrant/js-client-rest";
import { ApiError } from "../../contracts/errors.ts";
import type { CreateIndexOptions, IndexInfo, Metric, VectorIndex, VectorStore } from "../vector-index.ts";
import { QdrantIndex } from "./qdrant-index.ts";
import { withRetries } from "./qdrant-retry.ts";
import { collectionConfig, DEFAULT_QDRANT_SETTINGS, type QdrantSettings } from "./qdrant-settings.ts";

const METRIC_OF: Partial<Record<Schemas["Distance"], Metric>> = { Cosine: "cosine", Dot: "ip" };

/** Qdrant collections as indexes. Collections with named vectors or other distances are not listed. */
export class QdrantVectorStore implements VectorStore {
  readonly backend = "qdrant" as const;
  readonly settings: QdrantSettings;
  private readonly client: QdrantClient;

  constructor(settings: Partial<QdrantSettings> & { url: string }) {
    this.settings = { ...DEFAULT_QDRANT_SETTINGS, ...settings };
    this.client = new QdrantClient({
      url: this.settings.url,
      apiKey: this.settings.apiKey,
      timeout: this.settings.timeoutMs,
      // The version probe at startup is one more request that can fail; compatibility is our pin's job.
      checkCompatibility: false,
    });
  }

  async list(): Promise<IndexInfo[]> {
    const { collections } = await this.retried("list collections", () => this.client.getCollections());
    const infos: IndexInfo[] = [];
    for (const { name } of collections) {
      const described = await this.describe(name).catch((error: unknown) => {
        // A collection dropped between the two calls is simply not listed.
        if (error instanceof ApiError && error.code === "index_not_found") return null;
        throw error;
      });
      if (described)
        infos.push({
          name,
          dim: described.dim,
          metric: described.metric,
          count: described.count,
          backend: "qdrant",
        });
    }
    return infos.sort((a, b) => a.name.localeCompare(b.name));
  }

  async open(name: string): Promise<VectorIndex> {
    const described = await this.describe(name);
    if (!described)
      throw new ApiError(
        "index_not_found",
        `collection "${name}" is not a single-vector cosine or dot collection`,
      );
    return new QdrantIndex(
      this.client,
      name,
      described.dim,
      described.metric,
      described.quantized,
      this.settings,
    );
  }

  /** Creates the collection, then its payload indexes, before any point arrives (serving-anchors §A4). */
  async create(name: string, options: CreateIndexOptions): Promise<VectorIndex> {
    const exists = await this.retried("check collection", () => this.client.collectionExists(name));
    if (exists.exists) throw new ApiError("conflict", `an index named "${name}" already exists`);
    await this.retried("create collection", () =>
      this.client.createCollection(name, collectionConfig(options, this.settings)),
    );
    for (const [field, schema] of Object.entries(options.payloadIndexes ?? {})) {
      await this.retried("create payload index", () =>
        this.client.createPayloadIndex(name, { field_name: field, field_schema: schema, wait: true }),
      );
    }
    return new QdrantIndex(
      this.client,
      name,
      options.dim,
      options.metric,
      options.quantization === "i8",
      this.settings,
    );
  }

  async drop(name: string): Promise<void> {
    await this.retried("drop collection", () => this.client.deleteCollection(name));
  }

  async close(): Promise<void> {}

  private async describe(name: string) {
    const info = await this.retried(
      `describe collection "${name}"`,
      () => this.client.getCollection(name),
      () => new ApiError("index_not_found", `there is no index named "${name}"`),
    );
    const vectors = info.config.params.vectors as Schemas["VectorParams"] | undefined;
    const metric = vectors?.distance ? METRIC_OF[vectors.distance] : undefined;
    if (!vectors?.size || !metric) return null;
    return {
      dim: vectors.size,
      metric,
      count: info.points_count ?? 0,
      quantized: Boolean(info.config.quantization_config ?? vectors.quantization_config),
    };
  }

  private retried<T>(what: string, fn: () => Promise<T>, onMissing?: () => ApiError): Promise<T> {
    return withRetries(what, this.settings.retries, fn, onMissing);
  }
}
