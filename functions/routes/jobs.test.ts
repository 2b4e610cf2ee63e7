import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobHandler } from "../../core/jobs/job-worker.ts";
import { startJobWorker } from "../../core/jobs/job-worker.ts";
import { createHarness, type Harness, TEST_ORIGIN } from "../../test/helpers/harness.ts";
import type { JobResource } from "../jobs/job-schemas.ts";
import { registerTestJobRoute, TEST_JOB_PATH } from "../jobs/test-support/test-job-route.ts";

let h: Harness;
let key: string;
let otherKey: string;
beforeAll(async () => {
  h = await createHarness();
  registerTestJobRoute(h.app);
  key = await h.keyFor("lab-jobs");
  otherKey = await h.keyFor("lab-jobs-other");
});
afterAll(() => h.close());

const post = (path: string, body: object, headers: Record<string, string> = {}, asKey = key) =>
  h.request(path, {
    method: "POST",
    key: asKey,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

async function createJob(body: object = { inputs: { n: 1 } }, headers: Record<string, string> = {}) {
  const res = await post(TEST_JOB_PATH, body, headers);
  expect(res.status).toBe(202);
  return (await res.json()) as JobResource;
}

const getJob = async (id: string, asKey = key) => h.request(`/v1/jobs/${id}`, { key: asKey });

/** A real worker running `handler` for jobs of `kind`, stopped after `body`. */
async function withWorker(kind: string, handler: JobHandler, body: () => Promise<void>) {
  const worker = await startJobWorker({ db: h.db, handlers: { [kind]: handler }, pollMs: 50 });
  try {
    await body();
  } finally {
    await worker.stop({ graceMs: 1000 });
  }
}

describe("jobs: create, list, get, cancel", () => {
  it("answers a created job with 202, its urls and a Location, then lists, fetches and cancels it", async () => {
    const res = await post(TEST_JOB_PATH, { inputs: { n: 1 } });
    expect(res.status).toBe(202);
    const job = (await res.json()) as JobResource;
    expect(job).toMatchObject({ kind: "test.job", status: "queued", progress: 0, inputs: { n: 1 } });
    expect(job.urls).toEqual({
      get: `${TEST_ORIGIN}/v1/jobs/${job.id}`,
      cancel: `${TEST_ORIGIN}/v1/jobs/${job.id}/cancel`,
      events: `${TEST_ORIGIN}/v1/jobs/${job.id}/events`,
    });
    expect(res.headers.get("location")).toBe(job.urls.get);

    const list = (await (await h.request("/v1/jobs", { key })).json()) as { data: JobResource[] };
    expect(list.data.map((j) => j.id)).toContain(job.id);
    // A page of jobs never carries their inputs (they can be megabytes each); GET /v1/jobs/{id} does.
    for (const listed of list.data) expect(listed).not.toHaveProperty("inputs");
    expect(await (await getJob(job.id)).json()).toMatchObject({ inputs: { n: 1 } });

    const fetched = await getJob(job.id);
    expect(fetched.status).toBe(200);
    expect(await fetched.json()).toMatchObject({ id: job.id, status: "queued", urls: job.urls });

    const canceled = await h.request(`/v1/jobs/${job.id}/cancel`, { method: "POST", key });
    expect(canceled.status).toBe(200);
    expect(await canceled.json()).toMatchObject({ id: job.id, status: "canceled", cancel_requested: true });
    // Canceling again is a no-op, not an error.
    const again = await h.request(`/v1/jobs/${job.id}/cancel`, { method: "POST", key });
    expect(again.status).toBe(200);
    expect(((await getJob(job.id).then((r) => r.json())) as JobResource).status).toBe("canceled");
  });

  it("erases a job only once it has stopped: 409 while queued, 204 after cancel, then 404", async () => {
    const job = await createJob();
    const refused = await h.request(`/v1/jobs/${job.id}`, { method: "DELETE", key });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/cancel/);
    expect((await h.request(`/v1/jobs/${job.id}`, { method: "DELETE", key: otherKey })).status).toBe(404);
    await h.request(`/v1/jobs/${job.id}/cancel`, { method: "POST", key });
    expect((await h.request(`/v1/jobs/${job.id}`, { method: "DELETE", key })).status).toBe(204);
    expect((await getJob(job.id)).status).toBe(404);
  });

  it("filters by status and pages newest first through next_cursor", async () => {
    const lab = await h.keyFor("lab-jobs-pages");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await post(TEST_JOB_PATH, { inputs: { i } }, {}, lab);
      ids.push(((await res.json()) as JobResource).id);
    }
    for (const id of ids.slice(0, 2)) await h.request(`/v1/jobs/${id}/cancel`, { method: "POST", key: lab });

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : "?limit=2";
      const page = (await (await h.request(`/v1/jobs${query}`, { key: lab })).json()) as {
        data: JobResource[];
        next_cursor: string | null;
      };
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((j) => j.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());

    const canceled = (await (await h.request("/v1/jobs?status=canceled", { key: lab })).json()) as {
      data: JobResource[];
    };
    expect(canceled.data.map((j) => j.id).sort()).toEqual(ids.slice(0, 2).sort());
  });

  it("refuses a bad query: an unknown status, a limit over 100, a cursor it did not issue", async () => {
    for (const query of ["status=done", "limit=101", "cursor=bm90LWEtY3Vyc29y"]) {
      const res = await h.request(`/v1/jobs?${query}`, { key });
      expect(res.status, query).toBe(400);
      expect(await res.json()).toMatchObject({ code: "invalid_request" });
    }
  });

  it("answers 409 job_not_cancelable for a job that already succeeded", async () => {
    await withWorker(
      "test.quick",
      async () => ({ ok: true }),
      async () => {
        const job = await createJob({ kind: "test.quick", inputs: {} });
        await expect
          .poll(async () => ((await (await getJob(job.id)).json()) as JobResource).status)
          .toBe("succeeded");
        const res = await h.request(`/v1/jobs/${job.id}/cancel`, { method: "POST", key });
        expect(res.status).toBe(409);
        expect(await res.json()).toMatchObject({ code: "job_not_cancelable", status: 409 });
      },
    );
  });
});

describe("jobs: outputs", () => {
  it("presents output files as signed URLs that download without an API key", async () => {
    const bytes = new TextEncoder().encode("not really npy, but bytes");
    const writeFile: JobHandler = async (job) => {
      const stored = await h.services.blobs.put(`outputs/test/${job.id}/embeddings.npy`, bytes);
      return {
        trials: 3,
        files: {
          "embeddings.npy": { key: stored.key, content_type: "application/x-npy", bytes: bytes.length },
        },
      };
    };
    await withWorker("test.files", writeFile, async () => {
      const res = await post(TEST_JOB_PATH, { kind: "test.files", inputs: {} }, { prefer: "wait=10" });
      expect(res.status).toBe(200);
      const job = (await res.json()) as JobResource & {
        outputs: { trials: number; files: Record<string, Record<string, unknown>> };
      };
      expect(job.status).toBe("succeeded");
      expect(job.outputs.trials).toBe(3);
      const file = job.outputs.files["embeddings.npy"]!;
      expect(file).toEqual({
        url: expect.stringMatching(/^http:\/\/api\.test\//),
        expires_at: expect.any(String),
        content_type: "application/x-npy",
        bytes: bytes.length,
      });
      // About an hour from now (signed expiries are whole seconds).
      const ttl = Date.parse(file.expires_at as string) - Date.now();
      expect(ttl).toBeGreaterThan(3590_000);
      expect(ttl).toBeLessThanOrEqual(3601_000);
      const download = await h.app.request(file.url as string);
      expect(download.status).toBe(200);
      expect(new Uint8Array(await download.arrayBuffer())).toEqual(bytes);
    });
  });
});

describe("jobs: Prefer: wait", () => {
  it("answers 200 with the finished job when it finishes in time", async () => {
    await withWorker(
      "test.wait",
      async () => ({ answer: 42 }),
      async () => {
        const res = await post(TEST_JOB_PATH, { kind: "test.wait", inputs: {} }, { prefer: "wait=10" });
        expect(res.status).toBe(200);
        expect(res.headers.get("preference-applied")).toBe("wait=10");
        expect(await res.json()).toMatchObject({ status: "succeeded", outputs: { answer: 42 } });
      },
    );
  });

  it("answers 202 with the job as it is when the time runs out", async () => {
    const started = Date.now();
    const res = await post(
      TEST_JOB_PATH,
      { kind: "test.nobody-runs-this", inputs: {} },
      { prefer: "wait=1" },
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(res.status).toBe(202);
    expect(res.headers.get("preference-applied")).toBe("wait=1");
    expect(await res.json()).toMatchObject({ status: "queued" });
  });
});

describe("jobs: Idempotency-Key", () => {
  it("creates one job for a repeated key and replays its 202", async () => {
    const first = await createJob({ inputs: { once: true } }, { "idempotency-key": "job-once" });
    const res = await post(TEST_JOB_PATH, { inputs: { once: true } }, { "idempotency-key": "job-once" });
    expect(res.status).toBe(202);
    expect(res.headers.get("idempotent-replayed")).toBe("true");
    expect(((await res.json()) as JobResource).id).toBe(first.id);
    const other = await post(TEST_JOB_PATH, { inputs: { once: false } }, { "idempotency-key": "job-once" });
    expect(other.status).toBe(422);
    expect(await other.json()).toMatchObject({ code: "idempotency_key_reused" });
  });

  it("replays a refused webhook URL as the same 422", async () => {
    const body = { inputs: {}, webhook: { url: "http://169.254.169.254/latest/meta-data" } };
    const first = await post(TEST_JOB_PATH, body, { "idempotency-key": "job-metadata-hook" });
    expect(first.status).toBe(422);
    expect(await first.json()).toMatchObject({ code: "webhook_url_refused" });
    const again = await post(TEST_JOB_PATH, body, { "idempotency-key": "job-metadata-hook" });
    expect(again.status).toBe(422);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.headers.get("content-type")).toBe("application/problem+json");
    expect(await again.json()).toMatchObject({ code: "webhook_url_refused" });
  });

  it("stores the webhook subscription with the job, every event type by default", async () => {
    const job = await createJob({ inputs: {}, webhook: { url: "http://127.0.0.1:9/hooks" } });
    expect(job.webhook).toMatchObject({ url: "http://127.0.0.1:9/hooks", disabled_at: null });
    expect(job.webhook!.events).toContain("job.succeeded");
  });
});

describe("jobs: security", () => {
  it("answers 404 to another lab on every job route, and changes nothing", async () => {
    const job = await createJob();
    const routes: [string, string][] = [
      ["GET", `/v1/jobs/${job.id}`],
      ["POST", `/v1/jobs/${job.id}/cancel`],
      ["GET", `/v1/jobs/${job.id}/events`],
      ["GET", `/v1/jobs/${job.id}/deliveries`],
      ["POST", `/v1/jobs/${job.id}/deliveries/evt_a2b3c4/redeliver`],
    ];
    for (const [method, path] of routes) {
      const res = await h.request(path, { method, key: otherKey });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(await res.json()).toMatchObject({ code: "not_found" });
    }
    const list = (await (await h.request("/v1/jobs", { key: otherKey })).json()) as { data: JobResource[] };
    expect(list.data.map((j) => j.id)).not.toContain(job.id);
    expect(((await (await getJob(job.id)).json()) as JobResource).status).toBe("queued");
  });

  it("answers 401 without an API key", async () => {
    for (const path of ["/v1/jobs", "/v1/jobs/job_x", "/v1/jobs/job_x/events", "/v1/webhooks/secret"]) {
      expect((await h.request(path)).status, path).toBe(401);
    }
    expect((await h.request("/v1/jobs/job_x/cancel", { method: "POST" })).status).toBe(401);
  });

  it("answers 404 for a job that does not exist", async () => {
    const res = await getJob("job_doesnotexist");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: "not_found" });
  });
});
