import { describe, expect, it } from "vitest";
import { decodeTensorFrame, encodeTensorFrame, parseShape, workerAuthToken } from "./worker-protocol.ts";

describe("tensor frame", () => {
  it("round-trips tensors of any length, each 8-byte aligned in the body", () => {
    const tensors = {
      odd: { data: Float32Array.from([1.5, -2, 3e-8]), shape: [3] },
      grid: { data: Float32Array.from({ length: 2 * 5 * 7 }, (_, i) => Math.sin(i)), shape: [2, 5, 7] },
      empty: { data: new Float32Array(0), shape: [0, 4] },
    };
    const frame = encodeTensorFrame(tensors);
    const headerLength = new DataView(frame.buffer).getUint32(0, true);
    expect((4 + headerLength) % 8).toBe(0);
    const decoded = decodeTensorFrame(frame.buffer);
    expect(decoded).toEqual(tensors);
    for (const t of Object.values(decoded)) expect(t.data.byteOffset % 8).toBe(0);
  });

  it("refuses a frame whose header overruns the body or whose tensor does not fit its shape", () => {
    const frame = encodeTensorFrame({ x: { data: new Float32Array(4), shape: [4] } });
    expect(() => decodeTensorFrame(frame.buffer.slice(0, frame.length - 4))).toThrow(/overruns/);
    const bad = new DataView(frame.buffer.slice(0));
    bad.setUint32(0, 1 << 20, true);
    expect(() => decodeTensorFrame(bad.buffer)).toThrow(/header length/);
  });
});

describe("parseShape", () => {
  it("takes comma-separated positive integers only", () => {
    expect(parseShape("4,15724")).toEqual([4, 15724]);
    expect(parseShape(" 81, 104 ,83")).toEqual([81, 104, 83]);
    for (const text of ["", "4,", "0,40", "-1,40", "1.5,40", "a,b", undefined, null]) {
      expect(parseShape(text)).toBeNull();
    }
  });
});

describe("workerAuthToken", () => {
  it("is a stable token per secret that does not reveal the secret", async () => {
    const secret = "a-signing-secret-of-at-least-32-characters";
    const token = await workerAuthToken(secret);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await workerAuthToken(secret)).toBe(token);
    expect(await workerAuthToken(`${secret}!`)).not.toBe(token);
    expect(token).not.toContain(secret);
  });
});
