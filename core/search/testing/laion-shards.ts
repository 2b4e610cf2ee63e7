import { mkdir, open } from "node:fs/promises";
import path from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import { float32ToFloat16 } from "../ingest/float16.ts";
import { npyHeader } from "../ingest/npy-header.ts";
import { clusterCentres, clusteredVectors, seededRandom } from "./seeded-vectors.ts";

export interface LaionShardsSpec {
  shards: number;
  rowsPerShard: number;
  dim: number;
  dtype: "float16" | "float32";
  seed: number;
  /** Cluster centres shared by all shards (CLIP-like neighbourhoods). */
  clusters?: number;
  /** Parquet row-group size (ingest reads one group at a time). */
  rowGroupSize?: number;
}

const NSFW = ["UNLIKELY", "UNSURE", "NSFW"] as const;

/**
 * Writes a dataset in the clip-retrieval / LAION layout: img_emb/img_emb_N.npy (unit vectors) and
 * metadata/metadata_N.parquet (url, caption, punsafe, pwatermark, NSFW), row-aligned. Embeddings are
 * generated and written in chunks, so a million 768-d rows never sit in memory at once.
 */
export async function writeLaionShards(dir: string, spec: LaionShardsSpec): Promise<void> {
  await mkdir(path.join(dir, "img_emb"), { recursive: true });
  await mkdir(path.join(dir, "metadata"), { recursive: true });
  const chunkRows = 8192;
  const centres = clusterCentres(spec.clusters ?? 1000, spec.dim, spec.seed);
  for (let shard = 0; shard < spec.shards; shard++) {
    const file = await open(path.join(dir, "img_emb", `img_emb_${shard}.npy`), "w");
    try {
      await file.write(npyHeader(spec.dtype, spec.rowsPerShard, spec.dim));
      for (let start = 0; start < spec.rowsPerShard; start += chunkRows) {
        const rows = Math.min(chunkRows, spec.rowsPerShard - start);
        const vectors = clusteredVectors(rows, spec.dim, {
          clusters: centres.length,
          noise: 0.02,
          seed: spec.seed + shard * 100_003 + start,
          centres,
        });
        await file.write(
          spec.dtype === "float16" ? float32ToFloat16(vectors) : new Uint8Array(vectors.buffer),
        );
      }
    } finally {
      await file.close();
    }
    const random = seededRandom(spec.seed * 31 + shard);
    const n = spec.rowsPerShard;
    const punsafe = Array.from({ length: n }, () => random());
    const parquet = parquetWriteBuffer({
      columnData: [
        {
          name: "url",
          data: Array.from({ length: n }, (_, r) => `https://example.org/${shard}/${r}.jpg`),
          type: "STRING",
        },
        {
          name: "caption",
          data: Array.from({ length: n }, (_, r) => `image ${r} of shard ${shard}`),
          type: "STRING",
        },
        { name: "punsafe", data: punsafe, type: "DOUBLE" },
        { name: "pwatermark", data: Array.from({ length: n }, () => random()), type: "DOUBLE" },
        { name: "NSFW", data: punsafe.map((p) => NSFW[p < 0.5 ? 0 : p < 0.9 ? 1 : 2]), type: "STRING" },
      ],
      rowGroupSize: spec.rowGroupSize ?? 50_000,
    });
    const meta = await open(path.join(dir, "metadata", `metadata_${shard}.parquet`), "w");
    await meta.write(new Uint8Array(parquet));
    await meta.close();
  }
}
