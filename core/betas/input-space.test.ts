import { describe, expect, it } from "vitest";
import type { ApiError } from "../contracts/errors.ts";
import { assertFinite } from "./input-space.ts";

const refusal = (data: Float32Array, voxels: number) => {
  try {
    assertFinite(data, voxels, "The betas");
  } catch (error) {
    return error as ApiError;
  }
  return null;
};

describe("assertFinite", () => {
  it("passes finite values, however large", () => {
    expect(refusal(new Float32Array(1001).fill(3.4e38), 7)).toBeNull();
    expect(refusal(new Float32Array(1001).fill(-3.4e38), 7)).toBeNull();
    expect(refusal(new Float32Array(0), 7)).toBeNull();
  });

  it.each([
    [[Number.NaN], [4], 1],
    [[Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY], [5, 6], 2], // their sum would be NaN, not Inf
    [[Number.NEGATIVE_INFINITY], [10], 1], // in the tail past the last group of four
  ])("refuses %j at %j, counting and naming the first", (values, at, count) => {
    const data = new Float32Array(11).fill(1);
    values.forEach((value, k) => {
      data[at[k]!] = value;
    });
    const error = refusal(data, 3);
    expect(error?.code).toBe("non_finite_values");
    expect(error?.fields).toMatchObject({
      non_finite_count: count,
      first_index: [Math.floor(at[0]! / 3), at[0]! % 3],
    });
  });
});
