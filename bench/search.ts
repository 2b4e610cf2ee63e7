/**
 * usearch HNSW against exact search on clustered 768-d unit vectors (CLIP-like: 1000 centres, noise 0.02),
 * both measured in this run: `tsx bench/search.ts [--vectors 200000] [--dim 768] [--quantization f16]
 * [--queries 100]`. Prints build rate, per-query p50/p99, batch QPS and recall@10 for a sweep of efSearch
 * on the saved index opened through mmap `view()`, and memory and disk per vector.
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
    quantization: { type: "string", default: "f16" },
    queries: { type: "string", default: "100" },
    k: { type: "string", default: "10" },
  },
});
const N = Number(values.vectors);
const DIM = Number(values.dim);
const Q = Number(values.queries);
const K = Number(values.k);
const quantization = values.quantization as Quantization;

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
const mb = (bytes: number) => (bytes / 1024 ** 2).toFixed(0);
const line = (fields: Record<string, string | number>) => process.stdout.write(`${JSON.stringify(fields)}\n`);

line({
  bench: "search",
  vectors: N,
  dim: DIM,
  quantization,
  queries: Q,
  k: K,
  cpus: os.cpus().length,
  cpu: os.cpus()[0]?.model ?? "?",
  node: process.version,
});

const centres = clusterCentres(1000, DIM, 1);
const data = new Float32Array(N * DIM);
for (let start = 0; start < N; start += 10_000) {
  const rows = Math.min(10_000, N - start);
  data.set(
    clusteredVectors(rows, DIM, { clusters: 1000, noise: 0.02, seed: 100 + start, centres }),
    start * DIM,
  );
}
const queries = clusteredVectors(Q, DIM, { clusters: 1000, noise: 0.02, seed: 9, centres });

// Exact search: the baseline and the ground truth.
const exactTimes: number[] = [];
const truth: number[][] = [];
for (let q = 0; q < Q; q++) {
  const t = performance.now();
  truth.push(exactTopK(data, DIM, rowOf(queries, DIM, q), K).rows);
  exactTimes.push(performance.now() - t);
}
exactTimes.sort((a, b) => a - b);
const exactP50 = percentile(exactTimes, 0.5);
line({
  engine: "exact (plain TS, 1 thread)",
  p50_ms: exactP50.toFixed(1),
  p99_ms: percentile(exactTimes, 0.99).toFixed(1),
  qps: (1000 / exactP50).toFixed(2),
  recall_at_10: 1,
});

const root = await mkdtemp(path.join(os.tmpdir(), "mindeye-bench-search-"));
try {
  const rssBefore = process.memoryUsage().rss;
  const index = await new LocalVectorStore(root, "usearch").create("bench", {
    dim: DIM,
    metric: "ip",
    quantization,
  });
  const built = performance.now();
  const batch = 10_000;
  for (let start = 0; start < N; start += batch) {
    const count = Math.min(batch, N - start);
    await index.upsert(
      Array.from({ length: count }, (_, i) => ({ id: start + i, vector: rowOf(data, DIM, start + i) })),
    );
  }
  const buildSeconds = (performance.now() - built) / 1000;
  const rssBuilt = process.memoryUsage().rss;
  await index.flush();
  await index.close();
  const files = await readdir(path.join(root, "bench"));
  const vectorFile = files.find((f) => f.endsWith(".usearch"))!;
  const diskBytes = (await stat(path.join(root, "bench", vectorFile))).size;
  line({
    engine: `usearch HNSW M=16 efC=128 ${quantization}`,
    build_s: buildSeconds.toFixed(1),
    build_vectors_per_s: (N / buildSeconds).toFixed(0),
    ram_delta_mb: mb(rssBuilt - rssBefore),
    ram_bytes_per_vector: ((rssBuilt - rssBefore) / N).toFixed(0),
    disk_mb: mb(diskBytes),
    disk_bytes_per_vector: (diskBytes / N).toFixed(0),
    raw_f32_bytes_per_vector: DIM * 4,
  });

  for (const ef of [16, 32, 64, 128, 256]) {
    // efSearch is fixed per opened usearch index, so each setting reopens the saved file with view().
    const opened = performance.now();
    const viewed = await new LocalVectorStore(root, "usearch", { efSearch: ef }).open("bench");
    const openMs = performance.now() - opened;
    const times: number[] = [];
    let found = 0;
    for (let q = 0; q < Q; q++) {
      const t = performance.now();
      const hits = await viewed.query(rowOf(queries, DIM, q), { k: K });
      times.push(performance.now() - t);
      found += hits.filter((h) => truth[q]!.includes(h.id as number)).length;
    }
    const all = Array.from({ length: Q }, (_, q) => rowOf(queries, DIM, q));
    const t = performance.now();
    await viewed.queryBatch(all, { k: K });
    const batchMs = performance.now() - t;
    times.sort((a, b) => a - b);
    line({
      engine: "usearch view() (mmap)",
      ef,
      open_ms: openMs.toFixed(0),
      p50_ms: percentile(times, 0.5).toFixed(2),
      p99_ms: percentile(times, 0.99).toFixed(2),
      qps_single: (1000 / percentile(times, 0.5)).toFixed(0),
      qps_batch: ((Q / batchMs) * 1000).toFixed(0),
      recall_at_10: (found / (Q * K)).toFixed(3),
      speedup_vs_exact_p50: (exactP50 / percentile(times, 0.5)).toFixed(0),
    });
    await viewed.close();
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
