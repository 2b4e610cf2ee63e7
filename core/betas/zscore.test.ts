import { describe, expect, it } from "vitest";
import { random } from "./testing.ts";
import { zscoreRows } from "./zscore.ts";

describe("zscoreRows", () => {
  it.each([
    [1, 3],
    [3, 7],
    [4, 1],
    [9, 13],
  ])(
    "gives (x - mean) / std exactly, for %i trials x %i voxels, into a new array or in place",
    (trials, voxels) => {
      const next = random(trials * 100 + voxels);
      const data = Float32Array.from({ length: trials * voxels }, () => (next() - 0.5) * 600);
      const mean = Float64Array.from({ length: voxels }, () => next() * 10);
      const std = Float64Array.from({ length: voxels }, () => 0.5 + next() * 100);
      const expected = data.map((x, i) => (x - mean[i % voxels]!) / std[i % voxels]!);
      expect(zscoreRows(data, voxels, mean, std, new Float32Array(data.length))).toEqual(expected);
      expect(zscoreRows(data, voxels, mean, std, data)).toEqual(expected);
    },
  );
});
