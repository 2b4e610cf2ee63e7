import { describe, expect, it } from "vitest";
import { DeferredInference } from "./deferred-inference.ts";
import type { InferenceService } from "./inference.ts";

describe("DeferredInference", () => {
  it("answers 503 not_ready with Retry-After while loading, then serves the loaded models", async () => {
    let finish!: (s: InferenceService) => void;
    const deferred = new DeferredInference(new Promise((resolve) => (finish = resolve)));
    await expect(deferred.listModels()).rejects.toMatchObject({
      code: "not_ready",
      status: 503,
      headers: { "retry-after": "5" },
    });
    await expect(deferred.ready()).rejects.toMatchObject({ code: "not_ready" });
    const loaded = { listModels: async () => [], ready: async () => {} } as unknown as InferenceService;
    finish(loaded);
    await new Promise((r) => setImmediate(r));
    await expect(deferred.listModels()).resolves.toEqual([]);
    await expect(deferred.ready()).resolves.toBeUndefined();
  });

  it("reports why loading failed", async () => {
    const deferred = new DeferredInference(Promise.reject(new Error("bundle sim01: sha256 mismatch")));
    await new Promise((r) => setImmediate(r));
    await expect(deferred.ready()).rejects.toThrow("sha256 mismatch");
  });
});
