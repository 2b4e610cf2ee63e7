import { describe, expect, it } from "vitest";
import { sessionStatistics } from "./session-statistics.ts";
import { random } from "./testing.ts";

/** The definition, a row at a time: what the unrolled sweep must reproduce bit for bit. */
function reference(data: Float32Array, trials: number, voxels: number) {
  const mean = new Float64Array(voxels);
  const std = new Float64Array(voxels);
  for (let t = 0; t < trials; t++) for (let v = 0; v < voxels; v++) mean[v]! += data[t * voxels + v]!;
  for (let v = 0; v < voxels; v++) mean[v]! /= trials;
  for (let t = 0; t < trials; t++)
    for (let v = 0; v < voxels; v++) std[v]! += (data[t * voxels + v]! - mean[v]!) ** 2;
  for (let v = 0; v < voxels; v++) std[v] = Math.sqrt(std[v]! / trials) || 1;
  return { mean, std };
}

describe("sessionStatistics", () => {
  it.each([
    [2, 3],
    [7, 5],
    [8, 1],
    [9, 13],
    [17, 4],
    [250, 31],
  ])("matches the row-at-a-time sums exactly for %i trials x %i voxels", (trials, voxels) => {
    const next = random(trials * 100 + voxels);
    const data = Float32Array.from({ length: trials * voxels }, () => (next() - 0.5) * 6000);
    const stats = sessionStatistics(data, trials, voxels);
    const expected = reference(data, trials, voxels);
    expect(stats.mean).toEqual(expected.mean);
    expect(stats.std).toEqual(expected.std);
    expect(stats.trials).toBe(trials);
  });

  it("counts constant voxels and keeps their std at 1", () => {
    const trials = 11;
    const data = new Float32Array(trials * 3);
    for (let t = 0; t < trials; t++) data.set([0.1, t, -7], t * 3);
    const stats = sessionStatistics(data, trials, 3);
    expect(stats.zeroVarianceVoxels).toBe(2);
    expect([stats.std[0], stats.std[2]]).toEqual([1, 1]);
    expect(stats.mean[0]).toBe(Math.fround(0.1));
  });
});
