import { describe, expect, it } from "vitest";
import { GaussianGenerator } from "./gaussian-generator.ts";

describe("GaussianGenerator", () => {
  it("gives the same stream for the same seed, bit for bit, and another for another seed", () => {
    const a = new GaussianGenerator(42).fill(new Float32Array(10_001));
    const b = new GaussianGenerator(42).fill(new Float32Array(10_001));
    const c = new GaussianGenerator(43).fill(new Float32Array(10_001));
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(a.filter((v, i) => v === c[i]).length).toBeLessThan(5);
  });

  it("is one stream: consecutive draws of any sizes equal one draw of their total", () => {
    const whole = new GaussianGenerator(7).fill(new Float32Array(12));
    const generator = new GaussianGenerator(7);
    const parts = [3, 1, 5, 3].flatMap((n) => [...generator.fill(new Float32Array(n))]);
    expect(parts).toEqual([...whole]);
  });

  it("draws standard normals", () => {
    const n = 1_000_000;
    const values = new GaussianGenerator(1).fill(new Float32Array(n));
    let sum = 0;
    let squares = 0;
    let beyondTwo = 0;
    for (const v of values) {
      sum += v;
      squares += v * v;
      if (Math.abs(v) > 2) beyondTwo++;
    }
    const mean = sum / n;
    const variance = squares / n - mean * mean;
    expect(Math.abs(mean)).toBeLessThan(4 / Math.sqrt(n));
    expect(Math.abs(variance - 1)).toBeLessThan(4 * Math.sqrt(2 / n));
    // P(|z| > 2) = 0.0455: checks the shape, not just two moments.
    expect(Math.abs(beyondTwo / n - 0.0455)).toBeLessThan(0.001);
  });
});
