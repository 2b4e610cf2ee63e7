import { describe, expect, it } from "vitest";
import { bestOfN } from "./best-of-n.ts";

describe("bestOfN", () => {
  const reference = Float32Array.of(1, 0, 0, 0);

  it("picks the highest cosine of the flattened vectors, whatever their norms", () => {
    const candidates = Float32Array.of(0, 1, 0, 0, 1, 1, 0, 0, 30, 1, 0, 0);
    const { best, similarities } = bestOfN(candidates, 3, reference);
    expect(best).toBe(2);
    expect(similarities[1]).toBeCloseTo(Math.SQRT1_2, 6);
  });

  it("gives ties to the first and never picks a NaN", () => {
    const candidates = Float32Array.of(Number.NaN, 0, 0, 0, 0, 1, 0, 0, 2, 2, 0, 0, 1, 1, 0, 0);
    expect(bestOfN(candidates, 4, reference).best).toBe(2);
  });
});
