import { describe, expect, it } from "vitest";
import { candidateSetRetrieval, rerankByTokens } from "./retrieval-scoring.ts";
import { clusteredVectors, rowOf, seededRandom } from "./testing/seeded-vectors.ts";

describe("rerankByTokens", () => {
  it("orders candidates by cosine of the flattened tokens, whatever their scale, keeping token-less ones last", () => {
    const query = Float32Array.from({ length: 257 * 4 }, (_, i) => Math.sin(i));
    const near = query.map((v, i) => 10 * v + 0.01 * Math.cos(i)); // same direction, other scale
    const far = query.map((_, i) => Math.cos(3 * i));
    const ranked = rerankByTokens(query, [
      { item: "far", score: 0.9, tokens: far },
      { item: "no-tokens", score: 0.95 },
      { item: "near", score: 0.5, tokens: near },
    ]);
    expect(ranked.map((r) => r.item)).toEqual(["near", "far", "no-tokens"]);
    expect(ranked[0]!.score).toBeCloseTo(1, 3);
    expect(ranked[0]!.firstStageScore).toBe(0.5);
    expect(ranked[2]!.score).toBe(0.95);
  });

  it("refuses token sets of another size", () => {
    expect(() =>
      rerankByTokens(new Float32Array(8), [{ item: 1, score: 0, tokens: new Float32Array(4) }]),
    ).toThrow(/4 values/);
  });
});

describe("candidateSetRetrieval", () => {
  const dim = 32;
  const images = Array.from({ length: 300 }, (_, i) =>
    rowOf(clusteredVectors(300, dim, { clusters: 300, noise: 0.3, seed: 2 }), dim, i),
  );

  it("finds every trial first when the brain embeddings are the images (top-1 = 1)", () => {
    const scores = candidateSetRetrieval(images, images);
    expect(scores.imageRetrieval.top1).toBe(1);
    expect(scores.brainRetrieval.top1).toBe(1);
    expect(scores.imageRetrieval.ranks.every((r) => r === 1)).toBe(true);
  });

  it("falls to chance (1/300) when brain and images are unrelated, and ranks the match where its score puts it", () => {
    const random = seededRandom(99);
    const noise = images.map(() => Float32Array.from({ length: dim }, () => random() - 0.5));
    const scores = candidateSetRetrieval(noise, images);
    expect(scores.imageRetrieval.top1).toBeLessThan(0.03);
    const meanRank = scores.imageRetrieval.ranks.reduce((a, b) => a + b, 0) / 300;
    expect(meanRank).toBeGreaterThan(100);
    expect(meanRank).toBeLessThan(200);
  });

  it("scores each direction separately, a tie counting for the match", () => {
    const e = (i: number) => Float32Array.from({ length: 3 }, (_, j) => (i === j ? 1 : 0));
    const both = Float32Array.from([1, 1, 0]);
    // Trial 0's brain embedding sits on image 1; trial 1's lies between images 0 and 1.
    const scores = candidateSetRetrieval([e(1), both, e(2)], [e(0), e(1), e(2)]);
    expect(scores.imageRetrieval.ranks).toEqual([2, 1, 1]);
    expect(scores.imageRetrieval.top1).toBeCloseTo(2 / 3);
    expect(scores.brainRetrieval.ranks).toEqual([2, 2, 1]);
    expect(scores.brainRetrieval.top1).toBeCloseTo(1 / 3);
  });
});
