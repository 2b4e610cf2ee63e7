import { open, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { ApiError } from "../../contracts/errors.ts";
import type { BlobStore } from "../../storage/blob-store.ts";

/** A file read by byte ranges (hyparquet's AsyncBuffer shape, so parquet reads share it). */
export interface RangeFile {
  byteLength: number;
  slice(start: number, end?: number): Promise<ArrayBuffer>;
}

/**
 * Embedding shards in the clip-retrieval / LAION layout: `img_emb/img_emb_N.npy` with row-aligned
 * `metadata/metadata_N.parquet`, in a local folder or under a blob-store prefix.
 */
export interface ShardSource {
  /** Where the shards are, as the user named it (also the key of the ingest's progress). */
  readonly location: string;
  /** Shard numbers, ascending. */
  shards(): Promise<number[]>;
  embeddings(shard: number): Promise<RangeFile>;
  /** null when the shard has no metadata file (payloads then carry only what the ids say). */
  metadata(shard: number): Promise<RangeFile | null>;
}

const EMBEDDING_FILE = /^img_emb_(\d+)\.npy$/;
const embeddingKey = (shard: number) => `img_emb/img_emb_${shard}.npy`;
const metadataKey = (shard: number) => `metadata/metadata_${shard}.parquet`;

function shardNumbers(names: Iterable<string>): number[] {
  const shards: number[] = [];
  for (const name of names) {
    const match = EMBEDDING_FILE.exec(name);
    if (match) shards.push(Number(match[1]));
  }
  return shards.sort((a, b) => a - b);
}

export class LocalShardSource implements ShardSource {
  constructor(readonly location: string) {}

  async shards(): Promise<number[]> {
    const names = await readdir(path.join(this.location, "img_emb")).catch(() => {
      throw new ApiError(
        "invalid_request",
        `${this.location} has no img_emb/ folder of img_emb_N.npy shards`,
      );
    });
    return shardNumbers(names);
  }

  embeddings(shard: number): Promise<RangeFile> {
    return localRangeFile(path.join(this.location, embeddingKey(shard)));
  }

  async metadata(shard: number): Promise<RangeFile | null> {
    const file = path.join(this.location, metadataKey(shard));
    return (await stat(file).catch(() => null)) ? localRangeFile(file) : null;
  }
}

async function localRangeFile(file: string): Promise<RangeFile> {
  const { size } = await stat(file);
  return {
    byteLength: size,
    async slice(start, end = size) {
      const handle = await open(file, "r");
      try {
        const buffer = new Uint8Array(end - start);
        let done = 0;
        while (done < buffer.length) {
          const { bytesRead } = await handle.read(buffer, done, buffer.length - done, start + done);
          if (bytesRead === 0) throw new ApiError("truncated_file", `${file} ends at byte ${start + done}`);
          done += bytesRead;
        }
        return buffer.buffer;
      } finally {
        await handle.close();
      }
    },
  };
}

/** Shards under `prefix` in a BlobStore (s3://bucket/prefix at scale), read with ranged GETs. */
export class BlobShardSource implements ShardSource {
  constructor(
    private readonly store: BlobStore,
    private readonly prefix: string,
    readonly location: string,
  ) {}

  async shards(): Promise<number[]> {
    const names: string[] = [];
    for await (const head of this.store.list(this.key("img_emb/"))) names.push(path.posix.basename(head.key));
    return shardNumbers(names);
  }

  embeddings(shard: number): Promise<RangeFile> {
    return this.rangeFile(this.key(embeddingKey(shard)));
  }

  async metadata(shard: number): Promise<RangeFile | null> {
    return (await this.store.head(this.key(metadataKey(shard))))
      ? this.rangeFile(this.key(metadataKey(shard)))
      : null;
  }

  private key(relative: string): string {
    return this.prefix ? `${this.prefix.replace(/\/$/, "")}/${relative}` : relative;
  }

  private async rangeFile(key: string): Promise<RangeFile> {
    const head = await this.store.head(key);
    if (!head) throw new ApiError("not_found", `${this.location}: ${key} does not exist`);
    const store = this.store;
    return {
      byteLength: head.size,
      async slice(start, end = head.size) {
        if (end <= start) return new ArrayBuffer(0);
        const chunks: Buffer[] = [];
        for await (const chunk of await store.get(key, { start, end: end - 1 })) chunks.push(chunk as Buffer);
        const joined = Buffer.concat(chunks);
        return joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength);
      },
    };
  }
}
