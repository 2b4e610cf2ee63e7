import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabRateLimiter } from "../../core/auth/lab-rate-limiter.ts";
import { createHarness, type Harness, TEST_ORIGIN } from "../../test/helpers/harness.ts";
import { createApp } from "../app.ts";

let h: Harness;
beforeAll(async () => {
  // Three requests at once, then one a second.
  h = await createHarness((base) => ({
    rateLimiter: new LabRateLimiter(base.db, { perSecond: 1, burst: 3 }),
  }));
});
afterAll(() => h.close());

describe("per-lab request rate limit", () => {
  it("answers 429 rate_limited with Retry-After past the burst, for that lab only, and lets it in again", async () => {
    const [busy, quiet] = [await h.keyFor("lab-busy"), await h.keyFor("lab-quiet")];
    for (let i = 0; i < 3; i++) expect((await h.request("/v1/lab", { key: busy })).status).toBe(200);

    const refused = await h.request("/v1/lab", { key: busy });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(2);
    const problem = (await refused.json()) as { code: string; detail: string; retry_after_seconds: number };
    expect(problem.code).toBe("rate_limited");
    expect(problem.retry_after_seconds).toBe(retryAfter);
    expect(problem.detail).toMatch(/1 requests per second/);

    // Another lab has its own budget; health and metrics are not counted against anyone.
    expect((await h.request("/v1/lab", { key: quiet })).status).toBe(200);
    expect((await h.request("/healthz")).status).toBe(200);

    await sleep(retryAfter * 1000);
    expect((await h.request("/v1/lab", { key: busy })).status).toBe(200);
    expect((await h.request("/v1/lab", { key: busy })).status).toBe(429);
  });

  it("shares one budget between API instances on the same database (as Lambda runs many)", async () => {
    const key = await h.keyFor("lab-two-instances");
    const other = createApp(h.services);
    const viaOther = () =>
      Promise.resolve(
        other.request(`${TEST_ORIGIN}/v1/lab`, { headers: { authorization: `Bearer ${key}` } }),
      );
    const statuses = [
      (await h.request("/v1/lab", { key })).status,
      (await viaOther()).status,
      (await h.request("/v1/lab", { key })).status,
      (await viaOther()).status,
    ];
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it("checks the key first: a request without one is 401, not counted", async () => {
    const res = await h.request("/v1/lab");
    expect(res.status).toBe(401);
  });
});
