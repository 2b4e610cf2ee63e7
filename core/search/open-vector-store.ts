import path from "node:path";
import type { Config } from "../config.ts";
import { LocalVectorStore } from "./embedded/local-vector-store.ts";
import type { QdrantSettings } from "./qdrant/qdrant-settings.ts";
import { QdrantVectorStore } from "./qdrant/qdrant-vector-store.ts";
import type { VectorStore } from "./vector-index.ts";

/**
 * The configured store: VECTOR_STORE=qdrant://host:port (or QDRANT_URL) for Qdrant, usearch:///path for
 * usearch folders elsewhere, and by default usearch under `<data dir>/indexes`.
 */
export function openVectorStore(
  config: Pick<
    Config,
    | "VECTOR_STORE"
    | "QDRANT_URL"
    | "QDRANT_API_KEY"
    | "QDRANT_SHARDS"
    | "QDRANT_REPLICATION"
    | "QDRANT_OVERSAMPLING"
    | "dataDir"
  >,
  qdrant: Partial<Omit<QdrantSettings, "url" | "apiKey">> = {},
): VectorStore {
  const url = config.VECTOR_STORE ? new URL(config.VECTOR_STORE) : null;
  if (url?.protocol === "qdrant:" || (!url && config.QDRANT_URL)) {
    const endpoint = config.QDRANT_URL ?? `http://${url!.host}`;
    return new QdrantVectorStore({
      shardNumber: config.QDRANT_SHARDS,
      replicationFactor: config.QDRANT_REPLICATION,
      oversampling: config.QDRANT_OVERSAMPLING,
      ...qdrant,
      url: endpoint,
      apiKey: config.QDRANT_API_KEY,
    });
  }
  const root =
    url?.pathname && url.pathname !== "/"
      ? decodeURIComponent(url.pathname)
      : path.join(config.dataDir, "indexes");
  return new LocalVectorStore(root);
}
