import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { exactTopK } from "../exact-search.ts";
import { clusteredVectors, rowOf } from "../testing/seeded-vectors.ts";
import type { PointId, VectorIndex } from "../vector-index.ts";
import type { Manifest } from "./index-files.ts";
import { LocalVectorStore } from "./local-vector-store.ts";
import { UsearchEngine } from "./usearch-engine.ts";

const DIM = 16;
const pool = clusteredVectors(1000, DIM, { clusters: 40, noise: 0.2, seed: 11 });
const vectorOf = (i: number) => rowOf(pool, DIM, i);

/** The points an index should hold, by id: which pool row is its vector, and its payload version. */
type Truth = Map<PointId, { row: number; v: number }>;

async function expectMatches(index: VectorIndex, truth: Truth): Promise<void> {
  expect(await index.count()).toBe(truth.size);
  const ids = [...truth.keys()];
  const matrix = new Float32Array(ids.length * DIM);
  for (const [i, id] of ids.entries()) matrix.set(vectorOf(truth.get(id)!.row), i * DIM);
  // Every live point is found by its own vector, with its latest payload; nothing dead comes back.
  const probes = ids.filter((_, i) => i % 7 === 0);
  const results = await index.queryBatch(
    probes.map((id) => vectorOf(truth.get(id)!.row)),
    { k: 10 },
  );
  let agree = 0;
  probes.forEach((id, q) => {
    const hits = results[q]!;
    expect(hits[0]!.id).toBe(id);
    expect(hits[0]!.payload).toEqual({ v: truth.get(id)!.v });
    for (const hit of hits) expect(truth.has(hit.id)).toBe(true);
    const exact = exactTopK(matrix, DIM, vectorOf(truth.get(id)!.row), 10).rows.map((r) => ids[r]);
    agree += hits.filter((h) => exact.includes(h.id)).length;
  });
  expect(agree / (probes.length * Math.min(10, ids.length))).toBeGreaterThanOrEqual(0.95);
}

async function manifestOf(root: string, name: string): Promise<Manifest> {
  return JSON.parse(await readFile(path.join(root, name, "manifest.json"), "utf8")) as Manifest;
}

describe.each(["usearch", "exact"] as const)("segmented %s index", (backend) => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), `mindeye-segments-${backend}-`));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it("appends a segment per flush, shadows replaced and deleted points, and compacts to the same answers", async () => {
    const store = new LocalVectorStore(root, backend);
    const index = await store.create("seg", { dim: DIM, metric: "cosine", quantization: "f16" });
    const truth: Truth = new Map();
    const put = async (ids: PointId[], row: (i: number) => number, v: number) => {
      await index.upsert(ids.map((id, i) => ({ id, vector: vectorOf(row(i)), payload: { v } })));
      for (const [i, id] of ids.entries()) truth.set(id, { row: row(i), v });
    };
    const remove = async (ids: PointId[]) => {
      await index.delete(ids);
      for (const id of ids) truth.delete(id);
    };

    await put(
      Array.from({ length: 300 }, (_, i) => i),
      (i) => i,
      1,
    );
    await index.flush();
    // Replace 0..99 with other vectors, delete 100..149, add string ids, then delete some of those.
    await put(
      Array.from({ length: 100 }, (_, i) => i),
      (i) => 500 + i,
      2,
    );
    await remove(Array.from({ length: 50 }, (_, i) => 100 + i));
    await put(
      Array.from({ length: 100 }, (_, i) => `s-${i}`),
      (i) => 300 + i,
      2,
    );
    await index.flush();
    await remove(Array.from({ length: 10 }, (_, i) => `s-${i}`));
    await put([100, "s-3"], (i) => 700 + i, 3); // a deleted number and a deleted string id, back again
    await expectMatches(index, truth); // unflushed writes are searched too
    await index.flush();

    const segmented = await manifestOf(root, "seg");
    expect(segmented.segments).toHaveLength(3);
    expect(segmented.count).toBe(truth.size);
    // The replaced vectors no longer answer for their ids.
    const [oldHits] = await index.queryBatch([vectorOf(5)], { k: 3 });
    expect(oldHits!.map((h) => h.id)).not.toContain(5);

    const reopened = await new LocalVectorStore(root, backend).open("seg");
    await expectMatches(reopened, truth);

    expect(await index.compact!()).toBe(true);
    const compacted = await manifestOf(root, "seg");
    expect(compacted.segments).toHaveLength(1);
    expect(compacted.count).toBe(truth.size);
    const named = compacted.segments.flatMap((s) => [s.vectors, s.payloads, ...(s.raw ? [s.raw] : [])]);
    expect((await readdir(path.join(root, "seg"))).sort()).toEqual(["manifest.json", ...named].sort());
    await expectMatches(index, truth);
    await expectMatches(await new LocalVectorStore(root, backend).open("seg"), truth);
    expect(await index.compact!()).toBe(false);

    // Writes after a compaction keep working on top of the merged segment.
    await put([7, "s-50"], (i) => 800 + i, 4);
    await index.flush();
    await expectMatches(await new LocalVectorStore(root, backend).open("seg"), truth);
    await store.close();
  });

  it("survives files a crashed commit left behind, and removes them at the next commit", async () => {
    const store = new LocalVectorStore(root, backend);
    const index = await store.create("crash", { dim: DIM, metric: "cosine" });
    await index.upsert([{ id: 1, vector: vectorOf(1), payload: { v: 1 } }]);
    await index.flush();
    // What a commit (or a compaction) killed before its manifest rename leaves: files no manifest names.
    const dir = path.join(root, "crash");
    await writeFile(path.join(dir, "seg-9.usearch"), "half a graph");
    await writeFile(path.join(dir, "seg-9.jsonl"), '["12", 12, {"v"');
    const reopened = await new LocalVectorStore(root, backend).open("crash");
    await expectMatches(reopened, new Map([[1, { row: 1, v: 1 }]]));
    await reopened.upsert([{ id: 2, vector: vectorOf(2), payload: { v: 1 } }]);
    await reopened.flush();
    expect(await readdir(dir)).not.toContain("seg-9.usearch");
    expect(await readdir(dir)).not.toContain("seg-9.jsonl");
  });
});

describe("served embedded indexes", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "mindeye-served-"));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it("opens an index once per store and picks up what another process commits", async () => {
    const server = new LocalVectorStore(root);
    const ingest = new LocalVectorStore(root); // stands in for `mindeye ingest` in another process
    const writer = await ingest.create("shared", { dim: DIM, metric: "cosine" });
    await writer.upsert([{ id: 1, vector: vectorOf(1), payload: { v: 1 } }]);
    await writer.flush();

    const served = await server.open("shared");
    expect(await server.open("shared")).toBe(served);
    expect(await served.count()).toBe(1);

    await writer.upsert([{ id: 2, vector: vectorOf(2), payload: { v: 1 } }]);
    expect((await server.open("shared")) === served).toBe(true); // nothing committed yet
    await writer.flush();
    const fresh = await server.open("shared");
    expect(fresh).not.toBe(served);
    await expectMatches(
      fresh,
      new Map([
        [1, { row: 1, v: 1 }],
        [2, { row: 2, v: 1 }],
      ]),
    );

    // Dropped and recreated elsewhere: the served copy must not mix in the old index's segments.
    await ingest.drop("shared");
    const again = await ingest.create("shared", { dim: DIM, metric: "cosine" });
    await again.upsert([{ id: 3, vector: vectorOf(3), payload: { v: 2 } }]);
    await again.flush();
    await again.upsert([{ id: 4, vector: vectorOf(4), payload: { v: 2 } }]);
    await again.flush();
    await expectMatches(
      await server.open("shared"),
      new Map([
        [3, { row: 3, v: 2 }],
        [4, { row: 4, v: 2 }],
      ]),
    );
    await ingest.drop("shared");
    await expect(server.open("shared")).rejects.toMatchObject({ code: "index_not_found" });
    await server.close();
  });

  it("opens an index written in format 1 (one generation) and carries on in segments", async () => {
    const dir = path.join(root, "old");
    const settings = {
      dim: DIM,
      metric: "cosine" as const,
      quantization: "f32" as const,
      hnsw: { m: 16, efConstruction: 128, efSearch: 128 },
    };
    const engine = UsearchEngine.create(settings);
    await mkdir(dir, { recursive: true });
    engine.add(BigUint64Array.from([0n, 1n]), Float32Array.from([...vectorOf(0), ...vectorOf(1)]));
    await engine.save(path.join(dir, "vectors.4.usearch"));
    await writeFile(path.join(dir, "payloads.4.jsonl"), '["0",0,{"v":1}]\n["1",1,{"v":1}]\n');
    await writeFile(
      path.join(dir, "manifest.json"),
      JSON.stringify({
        format: 1,
        backend: "usearch",
        ...settings,
        generation: 4,
        count: 2,
        nextStringKey: `${1n << 63n}`,
      }),
    );
    const store = new LocalVectorStore(root);
    const index = await store.open("old");
    const truth: Truth = new Map([
      [0, { row: 0, v: 1 }],
      [1, { row: 1, v: 1 }],
    ]);
    await expectMatches(index, truth);
    await index.upsert([{ id: "new", vector: vectorOf(2), payload: { v: 2 } }]);
    await index.delete([0]);
    truth.set("new", { row: 2, v: 2 });
    truth.delete(0);
    await index.flush();
    expect((await manifestOf(root, "old")).segments.map((s) => s.vectors)).toEqual([
      "vectors.4.usearch",
      "seg-5.usearch",
    ]);
    await expectMatches(await new LocalVectorStore(root).open("old"), truth);
    await index.compact!();
    await expectMatches(await new LocalVectorStore(root).open("old"), truth);
    expect(await readdir(dir)).not.toContain("vectors.4.usearch");
  });
});
