import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseBackends } from "../../../test/helpers/databases.ts";
import type { Database } from "../../db/database.ts";
import { LocalVectorStore } from "../embedded/local-vector-store.ts";
import { writeLaionShards } from "../testing/laion-shards.ts";
import { float16ToFloat32 } from "./float16.ts";
import { IngestProgress } from "./ingest-progress.ts";
import { ingestShards } from "./ingest-shards.ts";
import { parseNpyHeader } from "./npy-header.ts";
import { shardRowId } from "./point-ids.ts";
import { LocalShardSource } from "./shard-source.ts";

const SHARDS = 3;
const ROWS = 1500;
const DIM = 48;
let dataset: string;

beforeAll(async () => {
  dataset = await mkdtemp(path.join(os.tmpdir(), "mindeye-laion-"));
  await writeLaionShards(dataset, {
    shards: SHARDS,
    rowsPerShard: ROWS,
    dim: DIM,
    dtype: "float16",
    seed: 11,
    clusters: 20,
    rowGroupSize: 400,
  });
});
afterAll(() => rm(dataset, { recursive: true, force: true }));

async function shardRow(shard: number, row: number): Promise<Float32Array> {
  const source = new LocalShardSource(dataset);
  const file = await source.embeddings(shard);
  const layout = parseNpyHeader(new Uint8Array(await file.slice(0, 4096)), "npy");
  const start = layout.dataOffset + row * DIM * 2;
  return float16ToFloat32(new Uint8Array(await file.slice(start, start + DIM * 2)));
}

describe.each(databaseBackends)("ingest of LAION-layout shards, progress on $name", (backend) => {
  let db: Database;
  let indexes: string;
  beforeAll(async () => {
    db = await backend.open();
    indexes = await mkdtemp(path.join(os.tmpdir(), "mindeye-ingest-index-"));
  });
  afterAll(async () => {
    await db.close();
    await rm(indexes, { recursive: true, force: true });
  });

  const run = (indexName: string, extra: { where?: string[]; restart?: boolean } = {}) =>
    ingestShards({
      source: new LocalShardSource(dataset),
      store: new LocalVectorStore(indexes),
      indexName,
      progress: new IngestProgress(db),
      batchSize: 256,
      ...extra,
    });

  it("stores every row once, with shard+row ids and the metadata as payload", async () => {
    const report = await run("laion");
    expect(report).toMatchObject({
      shards: SHARDS,
      shardsResumed: 0,
      rowsRead: SHARDS * ROWS,
      rowsStored: SHARDS * ROWS,
      indexCount: SHARDS * ROWS,
    });
    const index = await new LocalVectorStore(indexes).open("laion");
    const [hit] = await index.query(await shardRow(2, 777), { k: 1 });
    expect(hit!.id).toBe(shardRowId(2, 777));
    expect(hit!.payload).toMatchObject({
      url: "https://example.org/2/777.jpg",
      caption: "image 777 of shard 2",
    });
    expect(typeof hit!.payload.punsafe).toBe("number");
  });

  it("stores nothing twice when run again, resumed or restarted", async () => {
    const again = await run("laion");
    expect(again).toMatchObject({ shardsResumed: SHARDS, indexCount: SHARDS * ROWS });
    const restarted = await run("laion", { restart: true });
    expect(restarted).toMatchObject({
      shardsResumed: 0,
      rowsStored: SHARDS * ROWS,
      indexCount: SHARDS * ROWS,
    });
  });

  it("keeps only rows that pass every --where, and refuses to resume with other filters", async () => {
    const report = await run("safe", { where: ["punsafe<0.5", "NSFW=UNLIKELY"] });
    let expected = 0;
    for (let shard = 0; shard < SHARDS; shard++) {
      const file = await asyncBufferFromFile(path.join(dataset, "metadata", `metadata_${shard}.parquet`));
      const rows = await parquetReadObjects({ file, columns: ["punsafe"] });
      expected += rows.filter((r) => (r.punsafe as number) < 0.5).length;
    }
    expect(expected).toBeGreaterThan(0);
    expect(report.rowsStored).toBe(expected);
    expect(report.indexCount).toBe(expected);
    const index = await new LocalVectorStore(indexes).open("safe");
    const hits = await index.query(await shardRow(0, 5), { k: 50 });
    expect(hits.every((h) => (h.payload.punsafe as number) < 0.5 && h.payload.NSFW === "UNLIKELY")).toBe(
      true,
    );
    await expect(run("safe", { where: ["punsafe<0.9"] })).rejects.toMatchObject({ code: "conflict" });
  });

  it("rejects a malformed --where before touching the index", async () => {
    await expect(run("bad", { where: ["punsafe ~ 3"] })).rejects.toMatchObject({ code: "invalid_request" });
    expect((await new LocalVectorStore(indexes).list()).map((i) => i.name)).not.toContain("bad");
  });
});
