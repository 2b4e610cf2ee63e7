import { describe, expect, it } from "vitest";
import { float16ToFloat32, float32ToFloat16 } from "./float16.ts";

describe("float16", () => {
  it("round-trips values to the nearest half, including subnormals, infinities and zero", () => {
    const values = Float32Array.from([0, -0, 1, -2.5, 0.1, 65504, 1e-7, 6.1e-5, 1e6, -1e6, 0.0361]);
    const back = float16ToFloat32(float32ToFloat16(values));
    expect(Array.from(back.slice(0, 6))).toEqual([0, -0, 1, -2.5, 0.0999755859375, 65504]);
    expect(back[6]).toBeCloseTo(1.1920928955078125e-7, 12); // 2 * 2^-24
    expect(back[7]).toBeCloseTo(6.1e-5, 7);
    expect(back[8]).toBe(Number.POSITIVE_INFINITY);
    expect(back[9]).toBe(Number.NEGATIVE_INFINITY);
    expect(Math.abs(back[10]! - 0.0361)).toBeLessThan(0.0361 / 2048);
  });

  it("decodes known bit patterns", () => {
    const bytes = new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c, 0x00, 0x7e]);
    const values = float16ToFloat32(bytes);
    expect(Array.from(values.slice(0, 4))).toEqual([1, -2, 2 ** -24, Number.POSITIVE_INFINITY]);
    expect(values[4]).toBeNaN();
  });
});
