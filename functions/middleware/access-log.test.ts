import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeferredInference } from "../../core/inference/deferred-inference.ts";
import { createHarness, type Harness, TINY_MODEL } from "../../test/helpers/harness.ts";

const lines: Record<string, unknown>[] = [];
const log = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
let h: Harness;
beforeAll(async () => {
  h = await createHarness(() => ({ log }));
});
afterAll(() => h.close());

describe("access log", () => {
  it("logs one structured line per request by route pattern, without keys or betas", async () => {
    const key = await h.keyFor("lab-logs");
    const betas = Array.from({ length: 40 }, (_, i) => 0.123456 + i);
    const res = await h.request("/v1/embeddings", {
      method: "POST",
      key,
      headers: { "content-type": "application/json", "x-request-id": "trace-log-1" },
      body: JSON.stringify({ model: TINY_MODEL, betas: { values: [betas] } }),
    });
    expect(res.status).toBe(200);
    const line = lines.find((l) => l.request_id === "trace-log-1" && l.msg === "request");
    expect(line).toMatchObject({
      method: "POST",
      route: "/v1/embeddings",
      status: 200,
      lab_id: expect.stringMatching(/^lab_/),
    });
    const everything = JSON.stringify(lines);
    expect(everything).not.toContain(key.slice(3));
    expect(everything).not.toContain("0.123456");
  });

  it("labels unknown paths as unmatched, so ids never become metric labels", async () => {
    await h.request("/nowhere/upl_123", { headers: { "x-request-id": "trace-log-2" } });
    expect(lines.find((l) => l.request_id === "trace-log-2")).toMatchObject({
      route: "unmatched",
      status: 404,
    });
  });

  it("logs a warm-up 503 (models still loading) as info, not as an error", async () => {
    const warming = await createHarness(() => ({
      log,
      inference: new DeferredInference(new Promise(() => {})),
    }));
    try {
      const key = await warming.keyFor("lab-warming");
      const res = await warming.request("/v1/models", { key, headers: { "x-request-id": "trace-log-3" } });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { code: string }).code).toBe("not_ready");
      const logged = lines.filter((l) => l.request_id === "trace-log-3");
      expect(logged).toEqual([expect.objectContaining({ msg: "request", status: 503, level: 30 })]);
    } finally {
      await warming.close();
    }
  });
});
