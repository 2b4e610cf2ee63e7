/**
 * usearch HNSW against exact search on clustered 768-d unit vectors (CLIP-like: 1000 centres, noise 0.02),
 * both measured in this run: `tsx bench/search.ts [--vectors 200000] [--dim 768] [--configs f16:16,i8:16]
 * [--ef 32,64,128,256] [--queries 100]`. Each config (quantization:M, efConstruction 128) is built through
 * the embedded store, saved, and swept over efSearch on the saved index opened through mmap `view()`;
 * prints build rate, per-query p50/p99 (cold: the first queries after opening; warm: after 1000 other
 * queries on the same open index, as a served index runs), batch QPS and recall@10, and memory and disk
 * per vector. The vectors are regenerated from their seeds for each build, so only one copy is held.
 */
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { LocalVectorStore } from "../core/search/embedded/local-vector-store.ts";
import { exactTopK } from "../core/search/exact-search.ts";
import { clusterCentres, clusteredVectors, rowOf } from "../core/search/testing/seeded-vectors.ts";
import type { Quantization } from "../core/search/vector-index.ts";

const { values } = parseArgs({
  options: {
    vectors: { type: "string", default: "200000" },
    dim: { type: "string", default: "768" },
    configs: { type: "string", default: "f16:16" },
    ef: { type: "string", default: "32,64,128,256" },
    queries: { type: "string", default: "100" },
    k: { type: "string", default: "10" },
  },
});
const N = Number(values.vectors);
const DIM = Number(values.dim);
const Q = Number(values.queries);
const K = Number(values.k);
const WARM = 1000;
const EF_CONSTRUCTION = 128;
const configs = values.configs.split(",").map((c) => {
  const [quantization, m] = c.split(":");
  return { quantization: quantization as Quantization, m: Number(m) };
});
const efs = values.ef.split(",").map(Number);

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
const mb = (bytes: number) => (bytes / 1024 ** 2).toFixed(0);
const line = (fields: Record<string, string | number>) => process.stdout.write(`${JSON.stringify(fields)}\n`);

line({
  bench: "search",
  vectors: N,
  dim: DIM,
  configs: values.configs,
  queries: Q,
  k: K,
  cpus: os.cpus().length,
  cpu: os.cpus()[0]?.model ?? "?",
  node: process.version,
});

const CHUNK = 10_000;
const centres = clusterCentres(1000, DIM, 1);
const chunkAt = (start: number) =>
  clusteredVectors(Math.min(CHUNK, N - start), DIM, {
    clusters: 1000,
    noise: 0.02,
    seed: 100 + start,
    centres,
  });
const queries = clusteredVectors(Q, DIM, { clusters: 1000, noise: 0.02, seed: 9, centres });
const warmQueries = clusteredVectors(WARM, DIM, { clusters: 1000, noise: 0.02, seed: 10, centres });

// Exact search: the baseline and the ground truth.
const truth: number[][] = [];
let exactP50 = 0;
{
  const data = new Float32Array(N * DIM);
  for (let start = 0; start < N; start += CHUNK) data.set(chunkAt(start), start * DIM);
  const exactTimes: number[] = [];
  for (let q = 0; q < Q; q++) {
    const t = performance.now();
    truth.push(exactTopK(data, DIM, rowOf(queries, DIM, q), K).rows);
    exactTimes.push(performance.now() - t);
  }
  exactTimes.sort((a, b) => a - b);
  exactP50 = percentile(exactTimes, 0.5);
  line({
    engine: "exact (plain TS, 1 thread)",
    p50_ms: percentile(exactTimes, 0.5).toFixed(1),
    p99_ms: percentile(exactTimes, 0.99).toFixed(1),
    recall_at_10: 1,
  });
}

async function timedQueries(
  viewed: Awaited<ReturnType<LocalVectorStore["open"]>>,
  set: Float32Array,
  count: number,
) {
  const times: number[] = [];
  let found = 0;
  for (let q = 0; q < count; q++) {
    const t = performance.now();
    const hits = await viewed.query(rowOf(set, DIM, q), { k: K });
    times.push(performance.now() - t);
    if (set === queries) found += hits.filter((h) => truth[q]!.includes(h.id as number)).length;
  }
  times.sort((a, b) => a - b);
  return { times, recall: found / (count * K) };
}

for (const { quantization, m } of configs) {
  const root = await mkdtemp(path.join(os.tmpdir(), "mindeye-bench-search-"));
  try {
    const rssBefore = process.memoryUsage().rss;
    const index = await new LocalVectorStore(root, "usearch").create("bench", {
      dim: DIM,
      metric: "ip",
      quantization,
      hnsw: { m, efConstruction: EF_CONSTRUCTION },
    });
    let buildMs = 0;
    for (let start = 0; start < N; start += CHUNK) {
      const chunk = chunkAt(start);
      const points = Array.from({ length: chunk.length / DIM }, (_, i) => ({
        id: start + i,
        vector: rowOf(chunk, DIM, i),
      }));
      const t = performance.now();
      await index.upsert(points);
      buildMs += performance.now() - t;
    }
    const buildSeconds = buildMs / 1000;
    const rssBuilt = process.memoryUsage().rss;
    await index.flush();
    await index.close();
    const files = await readdir(path.join(root, "bench"));
    const vectorFile = files.find((f) => f.endsWith(".usearch"))!;
    const diskBytes = (await stat(path.join(root, "bench", vectorFile))).size;
    line({
      engine: `usearch HNSW ${quantization} M=${m} efC=${EF_CONSTRUCTION}`,
      build_s: buildSeconds.toFixed(1),
      build_vectors_per_s: (N / buildSeconds).toFixed(0),
      ram_delta_mb: mb(rssBuilt - rssBefore),
      disk_mb: mb(diskBytes),
      disk_bytes_per_vector: (diskBytes / N).toFixed(0),
      raw_f32_bytes_per_vector: DIM * 4,
    });

    for (const ef of efs) {
      // efSearch is fixed per opened usearch index, so each setting reopens the saved file with view().
      const opened = performance.now();
      const viewed = await new LocalVectorStore(root, "usearch", { efSearch: ef }).open("bench");
      const openMs = performance.now() - opened;
      const cold = await timedQueries(viewed, queries, Q);
      await timedQueries(viewed, warmQueries, WARM);
      const warm = await timedQueries(viewed, queries, Q);
      const all = Array.from({ length: Q }, (_, q) => rowOf(queries, DIM, q));
      const t = performance.now();
      await viewed.queryBatch(all, { k: K });
      const batchMs = performance.now() - t;
      line({
        engine: `usearch ${quantization} M=${m} view()`,
        ef,
        open_ms: openMs.toFixed(0),
        cold_p50_ms: percentile(cold.times, 0.5).toFixed(2),
        p50_ms: percentile(warm.times, 0.5).toFixed(2),
        p99_ms: percentile(warm.times, 0.99).toFixed(2),
        qps_batch: ((Q / batchMs) * 1000).toFixed(0),
        recall_at_10: warm.recall.toFixed(3),
        speedup_vs_exact_p50: (exactP50 / percentile(warm.times, 0.5)).toFixed(0),
      });
      await viewed.close();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
