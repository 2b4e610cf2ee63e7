import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeNpy } from "../../core/npy/index.ts";
import { createHarness, type Harness, TINY_MODEL } from "../../test/helpers/harness.ts";

let h: Harness;
let key: string;
const INDEX = "tiny-images";
const DIM = 5 * 16;

// Index "images" are the tiny model's own retrieval embeddings of known betas, so the right answer is known.
const betasOf = (i: number) =>
  Array.from({ length: 40 }, (_, j) => Math.sin(i * 7.3 + j * 0.61) + (j % (i + 2)) * 0.2);

async function embed(rows: number[][]) {
  const res = await h.request("/v1/embeddings", {
    method: "POST",
    key,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: TINY_MODEL, betas: { values: rows } }),
  });
  const body = (await res.json()) as { outputs: { retrieval: { values: number[][][] } } };
  return body.outputs.retrieval.values.map((t) => t.flat());
}

const post = (path: string, body: unknown, asKey = key) =>
  h.request(path, {
    method: "POST",
    key: asKey,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

beforeAll(async () => {
  h = await createHarness();
  key = await h.keyFor("lab-retrieval");
  const vectors = await embed(Array.from({ length: 20 }, (_, i) => betasOf(i)));
  const index = await h.services.vectors.create(INDEX, { dim: DIM, metric: "cosine" });
  await index.upsert(
    vectors.map((v, i) => ({
      id: i,
      vector: Float32Array.from(v),
      payload: { stimulus_id: i, split: i < 10 ? "a" : "b" },
    })),
  );
  await index.flush();
});
afterAll(() => h.close());

describe("GET /v1/indexes", () => {
  it("lists indexes with their size and metric", async () => {
    const res = await h.request("/v1/indexes", { key });
    expect((await res.json()) as object).toEqual({
      data: [{ name: INDEX, dim: DIM, metric: "cosine", count: 20, backend: "usearch" }],
    });
  });
});

describe("POST /v1/retrievals", () => {
  it("finds the image each trial's betas encode, top-1", async () => {
    const res = await post("/v1/retrievals", {
      index: INDEX,
      k: 3,
      model: TINY_MODEL,
      betas: { values: [betasOf(4), betasOf(13)] },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      results: { id: number; score: number; payload: { stimulus_id: number } }[][];
    };
    expect(body.results.map((r) => r[0]!.payload.stimulus_id)).toEqual([4, 13]);
    expect(body.results[0]![0]!.score).toBeCloseTo(1, 4);
    expect(body.results[0]).toHaveLength(3);
  });

  it("searches with a given embedding and honours payload filters", async () => {
    const [vector] = await embed([betasOf(4)]);
    const res = await post("/v1/retrievals", {
      index: INDEX,
      k: 2,
      embedding: { values: vector },
      filter: { split: "b" },
    });
    const body = (await res.json()) as { results: { payload: { split: string } }[][] };
    expect(body.results[0]!.every((hit) => hit.payload.split === "b")).toBe(true);
  });

  it("refuses a query of the wrong width, naming both widths", async () => {
    const res = await post("/v1/retrievals", { index: INDEX, k: 1, embedding: { values: [1, 2, 3] } });
    expect(res.status).toBe(422);
    expect((await res.json()) as object).toMatchObject({
      code: "invalid_vector",
      index_dim: DIM,
      query_dim: 3,
    });
  });

  it("answers an unknown index with 404 and ambiguous input with 400", async () => {
    expect((await post("/v1/retrievals", { index: "nope", k: 1, embedding: { values: [1] } })).status).toBe(
      404,
    );
    expect((await post("/v1/retrievals", { index: INDEX, k: 1 })).status).toBe(400);
  });

  it("requires an API key", async () => {
    const res = await h.request("/v1/retrievals", { method: "POST", body: "{}" });
    expect(res.status).toBe(401);
  });
});

describe("POST /v1/retrievals with MindEye's second stage", () => {
  // First-stage "pooled" vectors are shifted by one image (image j holds trial j+1's embedding), so the first
  // stage ranks the wrong image first; the token index holds each image's own embedding.
  beforeAll(async () => {
    const vectors = await embed(Array.from({ length: 20 }, (_, i) => betasOf(i)));
    const pooled = await h.services.vectors.create("pooled-images", { dim: DIM, metric: "cosine" });
    await pooled.upsert(
      vectors.map((_, j) => ({
        id: j,
        vector: Float32Array.from(vectors[(j + 1) % 20]!),
        payload: { image_id: `img${j}` },
      })),
    );
    await pooled.close();
    const tokens = await h.services.vectors.create("token-images", { dim: DIM, metric: "cosine" });
    await tokens.upsert(
      vectors.map((v, j) => ({ id: j, vector: Float32Array.from(v), payload: { image_id: `img${j}` } })),
    );
    await tokens.close();
  });

  const query = (candidates: number) =>
    post("/v1/retrievals", {
      index: "pooled-images",
      k: 1,
      model: TINY_MODEL,
      betas: { values: [betasOf(4)] },
      rerank: { model: TINY_MODEL, index: "token-images", key: "image_id", candidates },
    });

  it("re-orders the candidates by token similarity, finding the seen image the first stage ranked lower", async () => {
    const first = await post("/v1/retrievals", {
      index: "pooled-images",
      k: 1,
      model: TINY_MODEL,
      betas: { values: [betasOf(4)] },
    });
    expect(
      ((await first.json()) as { results: { payload: { image_id: string } }[][] }).results[0]![0]!.payload
        .image_id,
    ).toBe("img3");
    const res = await query(20);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      results: { payload: { image_id: string }; first_stage_rank: number }[][];
    };
    expect(body.results[0]![0]!.payload.image_id).toBe("img4");
    expect(body.results[0]![0]!.first_stage_rank).toBeGreaterThan(1);
  });

  it("never admits an image the first stage did not return", async () => {
    const body = (await (await query(1)).json()) as { results: { payload: { image_id: string } }[][] };
    expect(body.results[0]!.map((h) => h.payload.image_id)).toEqual(["img3"]);
  });

  it("refuses a rerank without betas and an unknown token index", async () => {
    const noBetas = await post("/v1/retrievals", {
      index: "pooled-images",
      k: 1,
      embedding: { values: [0.1] },
      rerank: { model: TINY_MODEL, index: "token-images" },
    });
    expect(noBetas.status).toBe(400);
    const unknown = await post("/v1/retrievals", {
      index: "pooled-images",
      k: 1,
      model: TINY_MODEL,
      betas: { values: [betasOf(1)] },
      rerank: { model: TINY_MODEL, index: "nope" },
    });
    expect(unknown.status).toBe(404);
  });
});

describe("POST /v1/retrievals/candidates", () => {
  it("ranks each trial's own image first among N and reports both directions", async () => {
    const rows = Array.from({ length: 12 }, (_, i) => betasOf(i));
    const candidates = await embed(rows);
    const res = await post("/v1/retrievals/candidates", {
      model: TINY_MODEL,
      betas: { values: rows },
      candidates: { values: candidates },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      image_retrieval: { top1: number; ranks: number[] };
      brain_retrieval: { top1: number };
      chance: number;
    };
    expect(body.image_retrieval.top1).toBe(1);
    expect(body.brain_retrieval.top1).toBe(1);
    expect(body.chance).toBeCloseTo(1 / 12);
  });

  it("falls to chance-level ranks when candidates are shuffled against trials", async () => {
    const rows = Array.from({ length: 12 }, (_, i) => betasOf(i));
    const candidates = await embed(rows);
    const shuffled = candidates.map((_, i) => candidates[(i + 5) % 12]!);
    const res = await post("/v1/retrievals/candidates", {
      model: TINY_MODEL,
      betas: { values: rows },
      candidates: { values: shuffled },
    });
    const body = (await res.json()) as { image_retrieval: { top1: number } };
    expect(body.image_retrieval.top1).toBe(0);
  });

  it("refuses a candidate count that does not match the trials", async () => {
    const rows = Array.from({ length: 3 }, (_, i) => betasOf(i));
    const candidates = await embed(rows.slice(0, 2));
    const res = await post("/v1/retrievals/candidates", {
      model: TINY_MODEL,
      betas: { values: rows },
      candidates: { values: candidates },
    });
    expect(res.status).toBe(400);
  });

  it("takes the paper's 300-way candidates by upload (an .npy of [N, tokens, dim]), in both directions", async () => {
    const rows = Array.from({ length: 300 }, (_, i) => betasOf(i));
    const candidates = (
      await Promise.all([0, 1, 2, 3, 4].map((c) => embed(rows.slice(c * 60, (c + 1) * 60))))
    ).flat();
    const uploadCandidates = async (order: (i: number) => number) => {
      const data = Float32Array.from(candidates.flatMap((_, i) => candidates[order(i)]!));
      const bytes = encodeNpy(data, [300, 5, 16]);
      const created = await post("/v1/uploads", { filename: "candidates.npy", size: bytes.byteLength });
      const { id, upload } = (await created.json()) as { id: string; upload: { url: string } };
      await h.app.request(upload.url, { method: "PUT", body: bytes });
      expect((await post(`/v1/uploads/${id}/complete`, {})).status).toBe(200);
      return id;
    };
    type Scores = {
      candidates: number;
      image_retrieval: { top1: number };
      brain_retrieval: { top1: number };
    };
    const score = async (id: string) => {
      const res = await post("/v1/retrievals/candidates", {
        model: TINY_MODEL,
        betas: { values: rows },
        candidates: { upload_id: id },
      });
      expect(res.status).toBe(200);
      return (await res.json()) as Scores;
    };
    const right = await score(await uploadCandidates((i) => i));
    expect(right).toMatchObject({
      candidates: 300,
      image_retrieval: { top1: 1 },
      brain_retrieval: { top1: 1 },
    });
    // Control: each trial paired with another image.
    const wrong = await score(await uploadCandidates((i) => (i + 7) % 300));
    expect(wrong.image_retrieval.top1).toBeLessThan(0.05);
  });
});
