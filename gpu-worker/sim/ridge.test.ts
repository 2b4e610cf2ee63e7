import { describe, expect, it } from "vitest";
import { Prng } from "./prng.ts";
import { cholesky, choleskySolve, fitRidge } from "./ridge.ts";

describe("ridge", () => {
  it("solves (A + lambda I) w = b through its Cholesky factor", () => {
    // A = [[4, 2], [2, 3]], lambda 1: [[5, 2], [2, 4]] w = [1, 2] -> w = [0, 0.5].
    const l = cholesky(Float64Array.of(4, 2, 2, 3), 2, 1);
    const w = choleskySolve(l, 2, Float64Array.of(1, 2), 1);
    expect(w[0]).toBeCloseTo(0, 12);
    expect(w[1]).toBeCloseTo(0.5, 12);
  });

  it("recovers known weights and intercept, choosing the small penalty for clean data", () => {
    const rng = new Prng(3);
    const [n, v, d] = [300, 12, 3];
    const x = Float32Array.from({ length: n * v }, () => rng.gaussian() + 2);
    const truth = Array.from({ length: v * d }, () => rng.gaussian());
    const y = new Float32Array(n * d);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < d; j++) {
        let sum = 5 + 0.01 * rng.gaussian();
        for (let i = 0; i < v; i++) sum += x[r * v + i]! * truth[i * d + j]!;
        y[r * d + j] = sum;
      }
    }
    const fit = fitRidge(
      { data: x, rows: n, cols: v },
      { data: y, rows: n, cols: d },
      { relativeLambdas: [1e-6, 1], validationRows: [0, 10, 20, 30, 40, 50, 60], scoredColumns: [0, 2] },
    );
    expect(fit.relativeLambda).toBe(1e-6);
    for (const [k, w] of fit.weights.entries()) expect(w).toBeCloseTo(truth[k]!, 2);
    // Intercept: y = 5 + x W, so bias = 5 (the fit centres x, whose mean is 2, and adds it back).
    for (const b of fit.bias) expect(b).toBeCloseTo(5, 1);
  });
});
