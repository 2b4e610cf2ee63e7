import { describe, expect, it } from "vitest";
import type { ApiError } from "../contracts/errors.ts";
import { preprocessBetas } from "./preprocess.ts";

const matrix = {
  data: Float32Array.from([300, 600, -300, 0, 900, 1200, 600, 300]),
  shape: [4, 2] as [number, number],
};
const nsdFile = { dtype: "<i2", scaling: null };

describe("preprocessBetas", () => {
  it("divides NSD-style int16 by 300 only when the file carries no scaling", () => {
    expect(preprocessBetas(matrix, {}, nsdFile).applied.scale.divisor).toBe(300);
    expect(preprocessBetas(matrix, {}, nsdFile).data[0]).toBe(1);
    expect(
      preprocessBetas(matrix, {}, { dtype: "<i2", scaling: { slope: 0.5, inter: 0 } }).applied.scale.divisor,
    ).toBe(1);
    expect(preprocessBetas(matrix, {}, { dtype: "<f4", scaling: null }).applied.scale.divisor).toBe(1);
    const given = preprocessBetas(matrix, { scale: 3 }, nsdFile);
    expect(given.applied.scale).toMatchObject({ divisor: 3, source: "request" });
    expect(given.data[0]).toBe(100);
  });

  it("z-scores each voxel over the session like StandardScaler (population std)", () => {
    const { data, applied } = preprocessBetas(matrix, { scale: 1, zscore: "session" });
    const column = [300, -300, 900, 600];
    const mean = column.reduce((a, b) => a + b) / 4;
    const std = Math.sqrt(column.reduce((a, b) => a + (b - mean) ** 2, 0) / 4);
    column.forEach((v, t) => {
      expect(data[t * 2]).toBeCloseTo((v - mean) / std, 6);
    });
    expect(applied.zscore).toEqual({ kind: "session", trials: 4, zero_variance_voxels: 0 });
  });

  it("leaves constant voxels at zero instead of dividing by zero", () => {
    const constant = { data: Float32Array.from([5, 1, 5, 2, 5, 3]), shape: [3, 2] as [number, number] };
    const { data, applied } = preprocessBetas(constant, { zscore: "session" });
    expect([data[0], data[2], data[4]]).toEqual([0, 0, 0]);
    expect(applied.zscore.zero_variance_voxels).toBe(1);
  });

  it("applies reference statistics given as scalars or per-voxel arrays", () => {
    const { data } = preprocessBetas(matrix, { scale: 1, zscore: { mean: [300, 600], std: 300 } });
    expect(Array.from(data.subarray(0, 4))).toEqual([0, 0, -2, -2]);
  });

  it("averages repeated trials after z-scoring", () => {
    const { data, shape, applied } = preprocessBetas(matrix, {
      scale: 300,
      average: [
        [0, 2],
        [1, 3],
      ],
    });
    expect(shape).toEqual([2, 2]);
    expect(Array.from(data)).toEqual([(1 + 3) / 2, (2 + 4) / 2, (-1 + 2) / 2, (0 + 1) / 2]);
    expect(applied.average).toEqual({ groups: 2, trials_per_group: [2, 2] });
  });

  it.each([
    [{ scale: 0 }, /positive/],
    [{ zscore: { mean: [1, 2, 3], std: 1 } }, /1 or 2/],
    [{ zscore: { mean: 0, std: [1, 0] } }, /positive/],
    [{ average: [[0, 4]] }, /0 to 3/],
    [{ average: [[]] }, /empty/],
    [{ average: [[0, 1], [1]] }, /row 1 twice/],
    [{ average: [[0], [1], [2], [3], [0]] }, /at most 4 groups/],
  ] as const)("refuses %j with invalid_preprocessing", (request, detail) => {
    const error = (() => {
      try {
        preprocessBetas(matrix, request as never);
      } catch (e) {
        return e;
      }
    })() as ApiError;
    expect(error.code).toBe("invalid_preprocessing");
    expect(error.message).toMatch(detail);
  });

  it("z-scores with a whole session's statistics when given, whatever rows are taken", () => {
    const session = {
      mean: Float64Array.from([100, 200]),
      std: Float64Array.from([50, 25]),
      trials: 750,
      zeroVarianceVoxels: 0,
    };
    const one = { data: Float32Array.from([150, 150]), shape: [1, 2] as [number, number] };
    const { data, applied } = preprocessBetas(one, { scale: 300, zscore: "session" }, nsdFile, session);
    expect(Array.from(data)).toEqual([1, -2]);
    expect(applied.zscore).toEqual({ kind: "session", trials: 750, zero_variance_voxels: 0 });
  });

  it("refuses session z-scoring of a single trial", () => {
    const one = { data: Float32Array.from([1, 2]), shape: [1, 2] as [number, number] };
    expect(() => preprocessBetas(one, { zscore: "session" })).toThrow(/whole session/);
  });
});
