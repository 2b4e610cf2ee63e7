import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../test/helpers/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

async function expectProblem(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ status, code, type: `urn:mindeye:problem:${code}` });
  expect(body.detail).toEqual(expect.any(String));
  expect(body.request_id).toBe(res.headers.get("x-request-id"));
  return body;
}

describe("authentication", () => {
  it("answers an authenticated request with the caller's lab", async () => {
    const key = await h.keyFor("lab-a");
    const res = await h.request("/v1/lab", { key });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: "lab-a", id: expect.stringMatching(/^lab_/) });
  });

  it("refuses a request without a key with 401 unauthorized", async () => {
    const body = await expectProblem(await h.request("/v1/lab"), 401, "unauthorized");
    expect(body.detail).toContain("Authorization: Bearer");
  });

  it("refuses an unknown key and a malformed header", async () => {
    await expectProblem(await h.request("/v1/lab", { key: "mk_not-a-real-key" }), 401, "unauthorized");
    const res = await h.request("/v1/lab", { headers: { authorization: "Basic abc" } });
    await expectProblem(res, 401, "unauthorized");
  });

  it("refuses a key once it is revoked", async () => {
    const { key, info } = await h.services.apiKeys.create("lab-revoke");
    expect((await h.request("/v1/lab", { key })).status).toBe(200);
    await h.services.apiKeys.revoke(info.id);
    const body = await expectProblem(await h.request("/v1/lab", { key }), 401, "unauthorized");
    expect(body.detail).toContain("revoked");
  });

  it("records when a key was last used", async () => {
    const { key, info } = await h.services.apiKeys.create("lab-used");
    expect(info.lastUsedAt).toBeNull();
    await h.request("/v1/lab", { key });
    const [listed] = await h.services.apiKeys.list("lab-used");
    expect(listed!.lastUsedAt).toBeInstanceOf(Date);
  });

  it("stores only a hash of each key", async () => {
    const { key } = await h.services.apiKeys.create("lab-hash");
    const rows = await h.db.query<{ key_hash: string; prefix: string }>(
      "select key_hash, prefix from api_keys k join labs l on l.id = k.lab_id where l.name = 'lab-hash'",
    );
    expect(rows[0]!.key_hash).not.toContain(key.slice(11));
    expect(key.startsWith(rows[0]!.prefix)).toBe(true);
  });
});

describe("errors and request ids", () => {
  it("answers an unknown route with a 404 problem", async () => {
    await expectProblem(await h.request("/nowhere"), 404, "not_found");
  });

  it("checks the key before routing under /v1, so unknown paths reveal nothing to strangers", async () => {
    await expectProblem(await h.request("/v1/nope"), 401, "unauthorized");
  });

  it("answers an unknown /v1 route with 404 once authenticated", async () => {
    const key = await h.keyFor("lab-404");
    await expectProblem(await h.request("/v1/nope", { key }), 404, "not_found");
  });

  it("echoes a sane caller request id and replaces a hostile one", async () => {
    const kept = await h.request("/healthz", { headers: { "x-request-id": "trace-123" } });
    expect(kept.headers.get("x-request-id")).toBe("trace-123");
    const replaced = await h.request("/healthz", { headers: { "x-request-id": "bad id\twith spaces" } });
    expect(replaced.headers.get("x-request-id")).toMatch(/^req_[a-z2-7]{16}$/);
  });
});

describe("health and metrics", () => {
  it("reports liveness without authentication", async () => {
    const res = await h.request("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", version: "test" });
  });

  it("reports readiness from every probe", async () => {
    const res = await h.request("/readyz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ready", checks: { database: { ok: true } } });
  });

  it("counts requests per route pattern in Prometheus format", async () => {
    const key = await h.keyFor("lab-metrics");
    await h.request("/v1/lab", { key });
    await h.request("/v1/lab");
    const text = await (await h.request("/metrics")).text();
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/v1\/lab",status="200"\} [1-9]/);
    expect(text).toMatch(/http_request_errors_total\{method="GET",route="\/v1\/lab",status="401"\} [1-9]/);
    expect(text).toContain('http_request_duration_seconds_bucket{le="0.005",method="GET",route="/v1/lab"}');
  });
});

describe("metrics scrape token", () => {
  it("requires the configured token, and only that one", async () => {
    const guarded = await createHarness(() => ({ metricsToken: "scrape-token-0123456789" }));
    try {
      expect((await guarded.request("/metrics")).status).toBe(401);
      const wrong = await guarded.request("/metrics", {
        headers: { authorization: "Bearer scrape-token-0123456780" },
      });
      expect(wrong.status).toBe(401);
      const right = await guarded.request("/metrics", {
        headers: { authorization: "Bearer scrape-token-0123456789" },
      });
      expect(right.status).toBe(200);
      expect(await right.text()).toContain("http_requests_total");
    } finally {
      await guarded.close();
    }
  });
});

describe("readiness failures", () => {
  it("answers 503 naming the failing dependency", async () => {
    const failing = await createHarness((base) => ({
      readiness: {
        ...base.readiness,
        models: async () => {
          throw new Error("sim01 still warming up");
        },
      },
    }));
    try {
      const res = await failing.request("/readyz");
      expect(res.status).toBe(503);
      const body = (await res.json()) as { checks: Record<string, unknown> };
      expect(body.checks.models).toEqual({ ok: false, error: "sim01 still warming up" });
      expect(body.checks.database).toEqual({ ok: true });
    } finally {
      await failing.close();
    }
  });
});
