/**
 * The embedded index's lifecycle, measured in one run: `tsx bench/index-lifecycle.ts [--shards 8]
 * [--rows 12500] [--dim 768] [--requests 300]`.
 * 1. Ingest of many LAION-layout shards (each commits as one segment): vectors/s per shard, the last
 *    shard's rate against the first's, then the compaction.
 * 2. `POST /v1/retrievals` with one embedding on the ingested index through the full API, against the
 *    trivial authenticated `GET /v1/lab` and the bare index query, and against opening the index for
 *    every request (what every retrieval paid before served indexes stayed open).
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { migrate } from "../core/db/migrate.ts";
import { openPglite } from "../core/db/pglite.ts";
import { LocalVectorStore } from "../core/search/embedded/local-vector-store.ts";
import { IngestProgress } from "../core/search/ingest/ingest-progress.ts";
import { ingestShards } from "../core/search/ingest/ingest-shards.ts";
import { LocalShardSource } from "../core/search/ingest/shard-source.ts";
import { writeLaionShards } from "../core/search/testing/laion-shards.ts";
import { clusteredVectors, rowOf } from "../core/search/testing/seeded-vectors.ts";
import type { VectorStore } from "../core/search/vector-index.ts";
import { createHarness } from "../test/helpers/harness.ts";
import { fmt, machineLine, measure } from "./harness.ts";

const { values } = parseArgs({
  options: {
    shards: { type: "string", default: "8" },
    rows: { type: "string", default: "12500" },
    dim: { type: "string", default: "768" },
    requests: { type: "string", default: "300" },
  },
});
const SHARDS = Number(values.shards);
const ROWS = Number(values.rows);
const DIM = Number(values.dim);
const REQUESTS = Number(values.requests);

console.log(
  `# Index lifecycle — ${machineLine()}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
const work = await mkdtemp(path.join(os.tmpdir(), "mindeye-bench-lifecycle-"));
try {
  const dataset = path.join(work, "laion");
  await writeLaionShards(dataset, {
    shards: SHARDS,
    rowsPerShard: ROWS,
    dim: DIM,
    dtype: "float16",
    seed: 3,
  });
  const root = path.join(work, "indexes");
  const db = await openPglite();
  await migrate(db);
  const rates: number[] = [];
  let shardStart = performance.now();
  let compactSeconds = 0;
  const report = await ingestShards({
    source: new LocalShardSource(dataset),
    store: new LocalVectorStore(root),
    indexName: "bench",
    progress: new IngestProgress(db),
    onEvent: (event) => {
      if (event.kind === "shard-committed") {
        rates.push(event.rowsRead / ((performance.now() - shardStart) / 1000));
        shardStart = performance.now();
      } else if (event.kind === "compacted") {
        compactSeconds = event.seconds;
      }
    },
  });
  await db.close();
  console.log(`\n## Ingest: ${SHARDS} shards x ${ROWS} rows, ${DIM}-d float16, into usearch f16 (M=16)\n`);
  console.log("| shard | vectors/s (commit included) | vs shard 0 |");
  console.log("|---|---|---|");
  rates.forEach((rate, shard) => {
    console.log(`| ${shard} | ${fmt(rate, 0)} | ${fmt(rate / rates[0]!, 2)} |`);
  });
  console.log(
    `\nfirst/last shard rate: ${fmt(rates[0]! / rates.at(-1)!, 2)}x; compaction of ${SHARDS} segments into one: ${fmt(compactSeconds, 1)} s; index count ${report.indexCount}`,
  );

  // The API on the ingested index: the served store keeps it open.
  const served = new LocalVectorStore(root);
  const h = await createHarness(() => ({ vectors: served }));
  const key = await h.keyFor("bench");
  const queries = clusteredVectors(64, DIM, { clusters: 1000, noise: 0.02, seed: 99 });
  let q = 0;
  const body = () =>
    JSON.stringify({
      index: "bench",
      k: 10,
      embedding: { values: [Array.from(rowOf(queries, DIM, q++ % 64))] },
    });
  const retrieve = (app: typeof h) => async () => {
    const res = await app.request("/v1/retrievals", {
      method: "POST",
      key,
      headers: { "content-type": "application/json" },
      body: body(),
    });
    if (res.status !== 200) throw new Error(`retrieval answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  const trivial = await measure(async () => {
    const res = await h.request("/v1/lab", { key });
    if (res.status !== 200) throw new Error(`unexpected ${res.status}`);
  }, REQUESTS * 4);
  const index = await served.open("bench");
  const search = await measure(() => index.query(rowOf(queries, DIM, q++ % 64), { k: 10 }), REQUESTS);
  const api = await measure(retrieve(h), REQUESTS);

  // Before: a store that opens the index from its files for every request.
  const reopening: VectorStore = {
    backend: "usearch",
    list: () => new LocalVectorStore(root).list(),
    open: (name) => new LocalVectorStore(root).open(name),
    create: (name, options) => new LocalVectorStore(root).create(name, options),
    drop: (name) => new LocalVectorStore(root).drop(name),
    close: async () => {},
  };
  const before = await createHarness(() => ({ vectors: reopening }));
  const beforeKey = await before.keyFor("bench");
  const opened = await measure(
    async () => {
      const res = await before.request("/v1/retrievals", {
        method: "POST",
        key: beforeKey,
        headers: { "content-type": "application/json" },
        body: body(),
      });
      if (res.status !== 200) throw new Error(`retrieval answered ${res.status}`);
    },
    Math.max(10, Math.round(REQUESTS / 30)),
  );

  console.log(
    `\n## Retrieval through the API on the ${report.indexCount}-vector index (k=10, one JSON embedding)\n`,
  );
  console.log("| path | p50 ms | p99 ms | req/s | p50 vs trivial route | CPU µs/req |");
  console.log("|---|---|---|---|---|---|");
  const row = (name: string, t: typeof trivial) =>
    console.log(
      `| ${name} | ${fmt(t.p50Ms, 3)} | ${fmt(t.p99Ms, 3)} | ${fmt(t.perSecond, 0)} | ${fmt(t.p50Ms / trivial.p50Ms, 1)}x | ${fmt(t.cpuUs, 0)} |`,
    );
  row("GET /v1/lab (trivial authenticated route)", trivial);
  row("index.query alone (served, mmap)", search);
  row("POST /v1/retrievals, served index", api);
  row("POST /v1/retrievals, index opened per request (before)", opened);
  console.log(`\nopened per request / served: ${fmt(opened.p50Ms / api.p50Ms, 0)}x at p50`);
  await before.close();
  await h.close();
} finally {
  await rm(work, { recursive: true, force: true });
}
