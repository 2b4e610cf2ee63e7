/**
 * The embedded index's lifecycle, measured in one run: `tsx bench/index-lifecycle.ts [--shards 8]
 * [--rows 12500] [--dim 768] [--requests 300] [--opened-requests N]` (0 skips the opened-per-request row,
 * which at 1M vectors costs minutes a request).
 * 1. Ingest of many LAION-layout shards (each commits as one segment): vectors/s per shard, the last
 *    shard's rate against the first's, then the compaction.
 * 2. `POST /v1/retrievals` with one embedding on the ingested index through the full API, against the
 *    trivial authenticated `GET /v1/lab` and the bare index query: the API's own overhead (retrieval −
 *    query) as a multiple of the trivial route, with the two per-request costs it is mostly made of (the
 *    audit row, the JSON body's parse), and against opening the index for every request (what every
 *    retrieval paid before served indexes stayed open).
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { AuditLog } from "../core/audit/audit-log.ts";
import { ApiKeyStore } from "../core/auth/api-keys.ts";
import { migrate } from "../core/db/migrate.ts";
import { openPglite } from "../core/db/pglite.ts";
import { openPostgres } from "../core/db/postgres.ts";
import { DEFAULT_HNSW, LocalVectorStore } from "../core/search/embedded/local-vector-store.ts";
import { IngestProgress } from "../core/search/ingest/ingest-progress.ts";
import { ingestShards } from "../core/search/ingest/ingest-shards.ts";
import { LocalShardSource } from "../core/search/ingest/shard-source.ts";
import { writeLaionShards } from "../core/search/testing/laion-shards.ts";
import { clusteredVectors, rowOf } from "../core/search/testing/seeded-vectors.ts";
import type { VectorStore } from "../core/search/vector-index.ts";
import { parseRequestJson } from "../functions/middleware/json-text.ts";
import { createServerDatabase } from "../test/helpers/databases.ts";
import { createHarness, type Harness } from "../test/helpers/harness.ts";
import { fmt, machineLine, measure, type Timing } from "./harness.ts";

const { values } = parseArgs({
  options: {
    shards: { type: "string", default: "8" },
    rows: { type: "string", default: "12500" },
    dim: { type: "string", default: "768" },
    requests: { type: "string", default: "300" },
    "opened-requests": { type: "string" },
    /** Also serve the API on PostgreSQL (a fresh database on TEST_DATABASE_URL's server), as deployed. */
    postgres: { type: "boolean", default: false },
  },
});
const SHARDS = Number(values.shards);
const ROWS = Number(values.rows);
const DIM = Number(values.dim);
const REQUESTS = Number(values.requests);
const OPENED_REQUESTS = Number(values["opened-requests"] ?? Math.max(5, Math.round(REQUESTS / 30)));

interface Api {
  database: string;
  h: Harness;
  key: string;
}

/** The API with its keys and audit trail on a fresh PostgreSQL database, dropped by close(). */
async function postgresApi(vectors: VectorStore): Promise<{ api: Api; close(): Promise<void> }> {
  const created = await createServerDatabase();
  const db = await openPostgres(created.url);
  await migrate(db);
  const apiKeys = new ApiKeyStore(db);
  const h = await createHarness(() => ({ vectors, db, apiKeys, audit: new AuditLog(db) }));
  const { key } = await apiKeys.create("bench");
  return {
    api: { database: "PostgreSQL", h, key },
    async close() {
      await h.close();
      await db.close();
      await created.drop();
    },
  };
}

/** Rounds each path is measured in, alternating, so that a change of load hits every path alike. */
const ROUNDS = 3;

/** Each path's median round by p50. */
async function alternating<K extends string>(
  paths: Record<K, [run: () => Promise<unknown>, count: number]>,
): Promise<Record<K, Timing>> {
  const rounds = new Map<K, Timing[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, [run, count]] of Object.entries(paths) as [K, [() => Promise<unknown>, number]][]) {
      rounds.set(name, [...(rounds.get(name) ?? []), await measure(run, count)]);
    }
  }
  const median = (timings: Timing[]) => timings.sort((a, b) => a.p50Ms - b.p50Ms)[timings.length >> 1]!;
  return Object.fromEntries([...rounds].map(([name, timings]) => [name, median(timings)])) as Record<
    K,
    Timing
  >;
}

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
console.log(`# Index lifecycle — ${machineLine()}, load average ${load()}`);
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
  console.log(
    `\n## Ingest: ${SHARDS} shards x ${ROWS} rows, ${DIM}-d float16, into usearch f16 (M=${DEFAULT_HNSW.m})\n`,
  );
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
  const queries = clusteredVectors(64, DIM, { clusters: 1000, noise: 0.02, seed: 99 });
  let q = 0;
  const jsonBodies = queries64((row) => ({ values: [Array.from(row)] }));
  const base64Bodies = queries64((row) => ({
    base64: Buffer.from(row.buffer, row.byteOffset, row.byteLength).toString("base64"),
    dtype: "float32",
    shape: [1, DIM],
  }));
  function queries64(embedding: (row: Float32Array) => unknown): string[] {
    return Array.from({ length: 64 }, (_, i) =>
      JSON.stringify({ index: "bench", k: 10, embedding: embedding(rowOf(queries, DIM, i)) }),
    );
  }
  const post = async (api: Api, bodies: string[]) => {
    const body = bodies[q++ % 64]!;
    const res = await api.h.request("/v1/retrievals", {
      method: "POST",
      key: api.key,
      // As HTTP clients send it: with a length, the body limit checks the header instead of re-reading the body.
      headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) },
      body,
    });
    if (res.status !== 200) throw new Error(`retrieval answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  const pglite = await createHarness(() => ({ vectors: served }));
  const apis: Api[] = [{ database: "PGlite", h: pglite, key: await pglite.keyFor("bench") }];
  const postgres = values.postgres ? await postgresApi(served) : null;
  if (postgres) apis.push(postgres.api);

  const index = await served.open("bench");
  const byApi = [];
  for (const api of apis) {
    const lab = await api.h.services.apiKeys.authenticate(api.key);
    const timings = await alternating({
      trivial: [
        async () => {
          const res = await api.h.request("/v1/lab", { key: api.key });
          if (res.status !== 200) throw new Error(`unexpected ${res.status}`);
        },
        REQUESTS * 4,
      ],
      search: [() => index.query(rowOf(queries, DIM, q++ % 64), { k: 10 }), REQUESTS],
      json: [() => post(api, jsonBodies), REQUESTS],
      base64: [() => post(api, base64Bodies), REQUESTS],
      // The audit middleware's row, which every retrieval writes and the trivial route does not.
      audit: [
        () =>
          api.h.services.audit.record({
            labId: lab.id,
            keyId: lab.keyId,
            action: "retrievals.create",
            resourceType: "job",
            resourceId: null,
            status: 200,
            requestId: "bench",
          }),
        REQUESTS,
      ],
    });
    byApi.push({ api, ...timings });
  }
  // The input guard's parse of the JSON body (depth check, then JSON.parse).
  const parse = await measure(async () => parseRequestJson(jsonBodies[q++ % 64]!), REQUESTS);

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
  const beforeApi: Api = { database: "PGlite", h: before, key: await before.keyFor("bench") };
  const opened =
    OPENED_REQUESTS > 0 ? await measure(() => post(beforeApi, jsonBodies), OPENED_REQUESTS) : null;

  console.log(
    `\n## Retrieval through the API on the ${report.indexCount}-vector index (k=10, one embedding)\n`,
  );
  console.log("| database | path | p50 ms | p99 ms | req/s | p50 vs trivial route | CPU µs/req |");
  console.log("|---|---|---|---|---|---|---|");
  for (const { api, trivial, search, json, base64, audit } of byApi) {
    const row = (name: string, t: Timing) =>
      console.log(
        `| ${api.database} | ${name} | ${fmt(t.p50Ms, 3)} | ${fmt(t.p99Ms, 3)} | ${fmt(t.perSecond, 0)} | ${fmt(t.p50Ms / trivial.p50Ms, 1)}x | ${fmt(t.cpuUs, 0)} |`,
      );
    row("GET /v1/lab (trivial authenticated route)", trivial);
    row("index.query alone (served, mmap)", search);
    row("POST /v1/retrievals, JSON embedding", json);
    row("POST /v1/retrievals, base64 embedding", base64);
    row("audit row insert alone", audit);
    row(`JSON body parse alone (${fmt(jsonBodies[0]!.length / 1000, 1)} kB)`, parse);
    if (api.h === pglite && opened) row("POST /v1/retrievals, index opened per request (before)", opened);
  }
  console.log("\nAPI overhead = retrieval − index.query, at p50, against the trivial route:");
  for (const { api, trivial, search, json, base64 } of byApi) {
    const overhead = (t: Timing) =>
      `${fmt(t.p50Ms - search.p50Ms, 3)} ms = ${fmt((t.p50Ms - search.p50Ms) / trivial.p50Ms, 1)}x`;
    console.log(`- ${api.database}: JSON embedding ${overhead(json)}; base64 embedding ${overhead(base64)}`);
  }
  if (opened)
    console.log(`\nopened per request / served: ${fmt(opened.p50Ms / byApi[0]!.json.p50Ms, 0)}x at p50`);
  console.log(`load average at the end: ${load()}`);
  await before.close();
  await postgres?.close();
  await pglite.close();
} finally {
  await rm(work, { recursive: true, force: true });
}
