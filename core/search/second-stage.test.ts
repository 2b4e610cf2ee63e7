import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalVectorStore } from "./embedded/local-vector-store.ts";
import { rerankAmongCandidates } from "./second-stage.ts";
import type { VectorIndex } from "./vector-index.ts";

let dir: string;
let store: LocalVectorStore;
let pooled: VectorIndex;
let tokens: VectorIndex;

// Image i has a pooled vector near the x axis, rotated by i degrees, and a token vector that puts image 3
// closest to the query: the first stage and the second disagree, as they do in MindEye.
const deg = (d: number) => (d * Math.PI) / 180;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "second-stage-"));
  store = new LocalVectorStore(dir, "exact");
  pooled = await store.create("pooled", { dim: 2, metric: "cosine" });
  tokens = await store.create("tokens", { dim: 3, metric: "cosine" });
  const ids = [0, 1, 2, 3, 4, 5];
  await pooled.upsert(
    ids.map((i) => ({
      id: i,
      vector: [Math.cos(deg(i * 10)), Math.sin(deg(i * 10))],
      payload: { image_id: `img${i}` },
    })),
  );
  await tokens.upsert(
    ids.map((i) => ({
      id: i,
      vector: i === 3 ? [1, 0, 0] : i === 5 ? [0.99, 0.1, 0] : [0, 1, i],
      payload: { image_id: `img${i}` },
    })),
  );
});
afterAll(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe("rerankAmongCandidates", () => {
  it("re-orders the first stage's candidates by token similarity, and admits no others", async () => {
    const first = await pooled.queryBatch([Float32Array.from([1, 0])], { k: 4 });
    expect(first[0]!.map((h) => h.payload.image_id)).toEqual(["img0", "img1", "img2", "img3"]);
    const [reranked] = await rerankAmongCandidates(
      tokens,
      [Float32Array.from([1, 0, 0])],
      first,
      "image_id",
      2,
    );
    // img5 matches the tokens nearly as well, but the first stage did not find it.
    expect(reranked!.map((h) => h.payload.image_id)).toEqual(["img3", expect.stringMatching(/^img[012]$/)]);
    expect(reranked![0]!.first_stage_rank).toBe(4);
    expect(reranked![0]!.score).toBeCloseTo(1, 5);
  });

  it("names the missing link when hits lack the key", async () => {
    const first = [[{ id: 1, score: 1, payload: {} }]];
    await expect(
      rerankAmongCandidates(tokens, [Float32Array.from([1, 0, 0])], first, "image_id", 1),
    ).rejects.toMatchObject({
      code: "invalid_request",
    });
  });
});
