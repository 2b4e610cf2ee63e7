import { describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH, parseRequestJson } from "./json-text.ts";

const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

describe("parseRequestJson", () => {
  it("takes nesting up to the limit and refuses one level more", () => {
    expect(() => parseRequestJson(nested(MAX_JSON_DEPTH))).not.toThrow();
    expect(() => parseRequestJson(nested(MAX_JSON_DEPTH + 1))).toThrow(/nested more than/);
  });

  it("counts only nesting: many shallow arrays, or brackets inside strings, pass", () => {
    const siblings = JSON.stringify({ rows: Array.from({ length: 500 }, () => [1, { a: [2] }]) });
    expect(parseRequestJson(siblings)).toEqual(JSON.parse(siblings));
    const text = JSON.stringify({ note: "[{".repeat(500) });
    expect(parseRequestJson(text)).toEqual({ note: "[{".repeat(500) });
  });
});
