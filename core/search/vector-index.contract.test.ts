import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../contracts/errors.ts";
import { LocalVectorStore } from "./embedded/local-vector-store.ts";
import { QdrantVectorStore } from "./qdrant/qdrant-vector-store.ts";
import { clusteredVectors, rowOf } from "./testing/seeded-vectors.ts";
import type { Quantization, VectorStore } from "./vector-index.ts";

interface StoreBackend {
  name: string;
  /** Why this backend cannot run here, or null when it can. */
  unavailable: string | null;
  open(): Promise<{ store: VectorStore; reopen(): VectorStore; cleanup(): Promise<void> }>;
}

function localBackend(kind: "usearch" | "exact"): StoreBackend {
  return {
    name: kind,
    unavailable: null,
    async open() {
      const root = await mkdtemp(path.join(os.tmpdir(), `mindeye-${kind}-`));
      return {
        store: new LocalVectorStore(root, kind),
        reopen: () => new LocalVectorStore(root, kind),
        cleanup: () => rm(root, { recursive: true, force: true }),
      };
    },
  };
}

const qdrantUrl = process.env.QDRANT_URL;
const backends: StoreBackend[] = [
  localBackend("usearch"),
  localBackend("exact"),
  {
    name: "qdrant",
    unavailable: qdrantUrl
      ? null
      : "QDRANT_URL is not set, so no Qdrant server to test against (requests are still checked against the OpenAPI document in qdrant-openapi.test.ts)",
    async open() {
      const settings = { url: qdrantUrl!, shardNumber: 1, replicationFactor: 1 };
      return {
        store: new QdrantVectorStore(settings),
        reopen: () => new QdrantVectorStore(settings),
        cleanup: async () => {},
      };
    },
  },
];

const DIM = 32;
const N = 600;
const data = clusteredVectors(N, DIM, { clusters: 12, noise: 0.15, seed: 7 });
const colours = ["red", "green", "blue"] as const;
const points = Array.from({ length: N }, (_, i) => ({
  id: i % 2 === 0 ? i : `img-${i}`,
  vector: rowOf(data, DIM, i),
  payload: { colour: colours[i % 3]!, rare: i === 421, n: i },
}));

describe.each(backends)("VectorIndex contract: $name", (backend) => {
  if (backend.unavailable) {
    it.skip(`SKIPPED ${backend.name}: ${backend.unavailable}`, () => {});
    console.warn(`[vector-index contract] ${backend.name} suite skipped: ${backend.unavailable}`);
    return;
  }
  let env: Awaited<ReturnType<StoreBackend["open"]>>;
  const name = `contract_${backend.name}_${process.pid}`;

  beforeAll(async () => {
    env = await backend.open();
    await env.store.drop(name);
    const index = await env.store.create(name, {
      dim: DIM,
      metric: "cosine",
      payloadIndexes: { colour: "keyword", rare: "bool" },
    });
    await index.upsert(points);
    await index.flush();
  });
  afterAll(async () => {
    await env.store.drop(name);
    await env.cleanup();
  });

  it("lists the index with its dimension, metric, count and backend", async () => {
    const listed = (await env.store.list()).find((i) => i.name === name);
    expect(listed).toEqual({ name, dim: DIM, metric: "cosine", count: N, backend: backend.name });
  });

  it("finds a stored vector first, with its id (number or string) and payload", async () => {
    const index = await env.store.open(name);
    for (const i of [10, 11]) {
      const [hit] = await index.query(rowOf(data, DIM, i), { k: 1 });
      expect(hit!.id).toBe(points[i]!.id);
      expect(hit!.score).toBeCloseTo(1, 2);
      expect(hit!.payload).toEqual(points[i]!.payload);
    }
  });

  it("returns k hits, best first", async () => {
    const index = await env.store.open(name);
    const hits = await index.query(rowOf(data, DIM, 3), { k: 7 });
    expect(hits).toHaveLength(7);
    for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
  });

  it("filters by equality and by list membership, even for a value only one point has", async () => {
    const index = await env.store.open(name);
    const blue = await index.query(rowOf(data, DIM, 0), { k: 5, filter: { colour: "blue" } });
    expect(blue).toHaveLength(5);
    expect(blue.every((h) => h.payload.colour === "blue")).toBe(true);
    const some = await index.query(rowOf(data, DIM, 0), {
      k: 6,
      filter: { colour: { in: ["red", "green"] } },
    });
    expect(some.every((h) => h.payload.colour !== "blue")).toBe(true);
    const rare = await index.query(rowOf(data, DIM, 0), { k: 3, filter: { rare: true } });
    expect(rare.map((h) => h.id)).toEqual(["img-421"]);
  });

  it("answers a batch as it answers each query alone", async () => {
    const index = await env.store.open(name);
    const queries = [5, 50, 500].map((i) => rowOf(data, DIM, i));
    const batch = await index.queryBatch(queries, { k: 4 });
    const single = await Promise.all(queries.map((q) => index.query(q, { k: 4 })));
    expect(batch.map((hits) => hits.map((h) => h.id))).toEqual(single.map((hits) => hits.map((h) => h.id)));
  });

  it("replaces a point upserted again under the same id", async () => {
    const index = await env.store.open(name);
    const moved = rowOf(data, DIM, 100);
    await index.upsert([{ id: "img-1", vector: moved, payload: { colour: "moved", rare: false, n: 1 } }]);
    expect(await index.count()).toBe(N);
    const hits = await index.query(moved, { k: 2 });
    expect(hits.map((h) => h.id).sort()).toEqual([100, "img-1"].sort());
    expect(hits.find((h) => h.id === "img-1")!.payload.colour).toBe("moved");
    await index.upsert([points[1]!]);
  });

  it("refuses NaN, Infinity and a wrong dimension with invalid_vector, storing nothing", async () => {
    const index = await env.store.open(name);
    const bad = Float32Array.from(rowOf(data, DIM, 0));
    bad[3] = Number.NaN;
    const inf = Float32Array.from(rowOf(data, DIM, 0));
    inf[0] = Number.POSITIVE_INFINITY;
    for (const vector of [bad, inf, new Float32Array(DIM - 1)]) {
      const attempt = index.upsert([
        { id: 9999, vector: rowOf(data, DIM, 0) },
        { id: 10000, vector },
      ]);
      await expect(attempt).rejects.toMatchObject({ code: "invalid_vector" });
    }
    await expect(index.query(bad, { k: 1 })).rejects.toBeInstanceOf(ApiError);
    expect(await index.count()).toBe(N);
  });

  it("deletes by id, ignoring ids it does not have", async () => {
    const index = await env.store.open(name);
    await index.delete([20, "img-21", "never-stored"]);
    expect(await index.count()).toBe(N - 2);
    const hits = await index.query(rowOf(data, DIM, 20), { k: 3 });
    expect(hits.map((h) => h.id)).not.toContain(20);
    await index.upsert([points[20]!, points[21]!]);
    expect(await index.count()).toBe(N);
  });

  it("reopens a saved index with the same contents", async () => {
    const before = await env.store.open(name);
    await before.upsert([
      { id: "late", vector: rowOf(data, DIM, 7), payload: { colour: "late", rare: false, n: -1 } },
    ]);
    const expected = await before.query(rowOf(data, DIM, 9), { k: 5 });
    await before.close();
    const after = await env.reopen().open(name);
    expect(await after.count()).toBe(N + 1);
    expect((await after.query(rowOf(data, DIM, 9), { k: 5 })).map((h) => h.id)).toEqual(
      expected.map((h) => h.id),
    );
    await after.delete(["late"]);
    await after.close();
  });

  it("names missing and duplicate indexes with index_not_found and conflict", async () => {
    await expect(env.store.open("no_such_index")).rejects.toMatchObject({ code: "index_not_found" });
    await expect(env.store.create(name, { dim: DIM, metric: "cosine" })).rejects.toMatchObject({
      code: "conflict",
    });
  });

  it("scores inner product as the dot product for metric ip", async () => {
    const ipName = `${name}_ip`;
    const index = await env.store.create(ipName, { dim: 2, metric: "ip" });
    await index.upsert([
      { id: 1, vector: [2, 0] },
      { id: 2, vector: [0, 3] },
    ]);
    const hits = await index.query([1, 1], { k: 2 });
    expect(hits.map((h) => [h.id, Number(h.score.toFixed(3))])).toEqual([
      [2, 3],
      [1, 2],
    ]);
    await env.store.drop(ipName);
    await expect(env.store.open(ipName)).rejects.toMatchObject({ code: "index_not_found" });
  });

  it.each<Quantization>(["f16", "i8"])(
    "keeps recall@10 >= 0.9 against exact search with %s",
    async (quantization) => {
      const qName = `${name}_${quantization}`;
      const index = await env.store.create(qName, { dim: DIM, metric: "cosine", quantization });
      await index.upsert(points.map((p) => ({ id: p.id, vector: p.vector })));
      const truth = await (await env.store.open(name)).queryBatch(
        [1, 2, 3, 4, 5].map((i) => rowOf(data, DIM, i * 97)),
        { k: 10 },
      );
      const got = await index.queryBatch(
        [1, 2, 3, 4, 5].map((i) => rowOf(data, DIM, i * 97)),
        { k: 10 },
      );
      const found = got.reduce(
        (sum, hits, q) => sum + hits.filter((h) => truth[q]!.some((t) => t.id === h.id)).length,
        0,
      );
      expect(found / 50).toBeGreaterThanOrEqual(0.9);
      await env.store.drop(qName);
    },
  );
});
