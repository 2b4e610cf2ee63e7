import { describe, expect, it } from "vitest";
import { parsePrefer } from "./prefer.ts";

describe("parsePrefer", () => {
  it("reads wait=N, clamped to 1..60 seconds, and bare wait as 60", () => {
    expect(parsePrefer("wait=5").waitSeconds).toBe(5);
    expect(parsePrefer("wait=0").waitSeconds).toBe(1);
    expect(parsePrefer("wait=600").waitSeconds).toBe(60);
    expect(parsePrefer("wait=2.5").waitSeconds).toBe(3);
    expect(parsePrefer("wait").waitSeconds).toBe(60);
  });

  it("reads several preferences in one header, whatever their case and spacing", () => {
    expect(parsePrefer('Respond-Async , WAIT = "10"; foo=bar')).toEqual({
      respondAsync: true,
      waitSeconds: 10,
    });
  });

  it("ignores what it cannot use, as RFC 7240 asks", () => {
    expect(parsePrefer(undefined)).toEqual({ respondAsync: false, waitSeconds: null });
    expect(parsePrefer("wait=soon, return=minimal")).toEqual({ respondAsync: false, waitSeconds: null });
    expect(parsePrefer("wait=-3").waitSeconds).toBeNull();
  });
});
