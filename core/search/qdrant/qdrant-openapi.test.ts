import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { needsSharedFixtures, sharedFixturesMissing } from "../../../test/helpers/shared-fixtures.ts";
import { QdrantOpenApiServer } from "../testing/qdrant-openapi-server.ts";
import { clusteredVectors, rowOf } from "../testing/seeded-vectors.ts";
import { QdrantVectorStore } from "./qdrant-vector-store.ts";

const DIM = 16;
const data = clusteredVectors(300, DIM, { clusters: 4, noise: 0.2, seed: 3 });
const points = Array.from({ length: 300 }, (_, i) => ({
  id: i % 3 === 0 ? `img-${i}` : i,
  vector: rowOf(data, DIM, i),
  payload: { colour: ["red", "green"][i % 2]!, n: i, nsfw: i % 10 === 0 },
}));

describe.skipIf(sharedFixturesMissing)(
  needsSharedFixtures("Qdrant adapter requests, checked against Qdrant's OpenAPI document"),
  () => {
    // Built in beforeAll: it reads the document, which a skipped suite must not touch.
    let server: QdrantOpenApiServer;
    let url: string;
    beforeAll(async () => {
      server = new QdrantOpenApiServer();
      url = await server.start();
    });
    afterAll(() => server.stop());
    // Every test ends with no request that failed validation.
    afterEach(() => {
      expect(server.failures).toEqual([]);
    });

    it("the checker itself rejects a request that breaks the document", async () => {
      await fetch(`${url}/collections/bad`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ vectors: { size: "768", distance: "Cosine" } }),
      });
      expect(server.failures).toHaveLength(1);
      expect(server.failures[0]!.errors.join()).toMatch(/size/);
      server.failures.length = 0;
    });

    it("creates the billion-scale layout, payload indexes first, then uploads, queries, counts and deletes", async () => {
      const store = new QdrantVectorStore({
        url,
        upsertBatchSize: 64,
        shardNumber: 12,
        replicationFactor: 2,
      });
      const seen = server.requests.length;
      const index = await store.create("laion", {
        dim: DIM,
        metric: "cosine",
        quantization: "i8",
        hnsw: { m: 32, efConstruction: 200 },
        payloadIndexes: { colour: "keyword", nsfw: "bool", n: "integer" },
      });
      await index.upsert(points);
      await index.query(rowOf(data, DIM, 1), { k: 10, filter: { colour: "red", nsfw: false } });
      await index.queryBatch([rowOf(data, DIM, 2), rowOf(data, DIM, 3)], {
        k: 5,
        filter: { n: { in: [1, 2, 3] } },
      });
      await index.query(rowOf(data, DIM, 4), {
        k: 5,
        filter: { colour: { in: ["red", "green"] }, nsfw: { in: [true, false] } },
      });
      expect(await index.count()).toBe(300);
      await index.delete([1, "img-3"]);
      expect(await index.count()).toBe(298);
      expect(await store.list()).toEqual([
        { name: "laion", dim: DIM, metric: "cosine", count: 298, backend: "qdrant" },
      ]);
      await (await store.open("laion")).query(rowOf(data, DIM, 5), { k: 3 });
      await store.drop("laion");

      const flow = server.requests.slice(seen);
      const ops = flow.map((r) => r.operationId);
      expect(ops.filter((o) => o === "upsert_points")).toHaveLength(Math.ceil(300 / 64));
      // Payload indexes exist before the first point arrives.
      expect(ops.lastIndexOf("create_field_index")).toBeLessThan(ops.indexOf("upsert_points"));
      expect(ops.filter((o) => o === "create_field_index")).toHaveLength(3);

      const create = flow.find((r) => r.operationId === "create_collection")!.body;
      expect(create).toMatchObject({
        vectors: { size: DIM, distance: "Cosine", on_disk: true, datatype: "float16" },
        quantization_config: { scalar: { type: "int8", always_ram: true } },
        hnsw_config: { m: 32, ef_construct: 200, on_disk: false },
        shard_number: 12,
        replication_factor: 2,
      });
      const query = flow.find((r) => r.operationId === "query_points")!.body;
      expect(query).toMatchObject({
        limit: 10,
        prefetch: { limit: 40, params: { quantization: { rescore: false } } },
        params: { quantization: { ignore: true } },
        filter: {
          must: [
            { key: "colour", match: { value: "red" } },
            { key: "nsfw", match: { value: false } },
          ],
        },
      });
      // String ids travel as UUIDs, with the original kept in the payload.
      const upserted = flow.find((r) => r.operationId === "upsert_points")!.body as {
        points: { id: unknown; payload: Record<string, unknown> }[];
      };
      const stringPoint = upserted.points.find((p) => p.payload._mindeye_id === "img-0")!;
      expect(stringPoint.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });

    it("refuses NaN and Infinity with invalid_vector before sending anything", async () => {
      const store = new QdrantVectorStore({ url });
      const index = await store.create("finite", { dim: 2, metric: "ip" });
      const seen = server.requests.length;
      await expect(index.upsert([{ id: 1, vector: [Number.NaN, 0] }])).rejects.toMatchObject({
        code: "invalid_vector",
      });
      await expect(index.query([Number.POSITIVE_INFINITY, 0], { k: 1 })).rejects.toMatchObject({
        code: "invalid_vector",
      });
      expect(server.requests.length).toBe(seen);
      await store.drop("finite");
    });

    it("retries 503 and 429 (after Retry-After) and then succeeds", async () => {
      const store = new QdrantVectorStore({ url });
      const index = await store.create("flaky", { dim: DIM, metric: "cosine" });
      const seen = server.requests.length;
      server.failNext(2, 503);
      server.failNext(1, 429, { "retry-after": "1" });
      await index.upsert(points.slice(0, 10));
      expect(server.requests.slice(seen).filter((r) => r.operationId === "upsert_points")).toHaveLength(4);
      expect(await index.count()).toBe(10);
      await store.drop("flaky");
    });

    it("gives up with upstream_unavailable when Qdrant keeps failing or cannot be reached", async () => {
      const store = new QdrantVectorStore({ url, retries: 2 });
      const index = await store.create("down", { dim: DIM, metric: "cosine" });
      server.failNext(3, 502);
      await expect(index.count()).rejects.toMatchObject({ code: "upstream_unavailable" });
      await store.drop("down");
      const nowhere = new QdrantVectorStore({ url: "http://127.0.0.1:9", retries: 1 });
      await expect(nowhere.list()).rejects.toMatchObject({ code: "upstream_unavailable" });
    });

    it("answers a missing collection with index_not_found and a taken name with conflict", async () => {
      const store = new QdrantVectorStore({ url, retries: 0 });
      await expect(store.open("missing")).rejects.toMatchObject({ code: "index_not_found" });
      await store.create("taken", { dim: 4, metric: "cosine" });
      await expect(store.create("taken", { dim: 4, metric: "cosine" })).rejects.toMatchObject({
        code: "conflict",
      });
      await store.drop("taken");
    });
  },
);
