import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobStore } from "../../core/jobs/job-store.ts";
import { startJobWorker } from "../../core/jobs/job-worker.ts";
import { createHarness, type Harness, TEST_WEBHOOK_POLICY } from "../../test/helpers/harness.ts";
import { streamJobEvents } from "../jobs/job-event-stream.ts";
import type { JobResource } from "../jobs/job-schemas.ts";
import { sseReader } from "../jobs/test-support/read-sse.ts";
import { registerTestJobRoute, TEST_JOB_PATH } from "../jobs/test-support/test-job-route.ts";
import { JOB_POLL_MS } from "../jobs/watch-job.ts";

/** The real store, counting its reads: how the test sees that a stream stopped polling. */
class CountingJobStore extends JobStore {
  reads = 0;
  override get(labId: string, id: string) {
    this.reads++;
    return super.get(labId, id);
  }
}

let h: Harness;
let jobs: CountingJobStore;
let key: string;
beforeAll(async () => {
  h = await createHarness((base) => {
    jobs = new CountingJobStore(base.db, TEST_WEBHOOK_POLICY);
    return { jobs };
  });
  registerTestJobRoute(h.app);
  // The same stream with a fast heartbeat, so a test can see one.
  h.app.get("/v1/test-fast-heartbeat/:id", (c) =>
    streamJobEvents(c, c.req.param("id"), {
      pollMs: 5_000,
      heartbeatMs: 30,
    }),
  );
  key = await h.keyFor("lab-events");
});
afterAll(() => h.close());

async function createJob(kind: string) {
  const res = await h.request(TEST_JOB_PATH, {
    method: "POST",
    key,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ kind, inputs: { big: "inputs are left out of events" } }),
  });
  return (await res.json()) as JobResource;
}

async function openEvents(path: string) {
  const res = await h.request(path, { key });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/event-stream");
  return sseReader(res.body!);
}

function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

const parse = (data: string) => JSON.parse(data) as JobResource;

describe("GET /v1/jobs/{id}/events", () => {
  it("streams each status and progress change of a job run by a real worker, then ends", async () => {
    const job = await createJob("test.steps");
    const events = await openEvents(`/v1/jobs/${job.id}/events`);
    const first = await events.next();
    expect(first).toMatchObject({ event: "status", id: "1" });
    expect(parse(first!.data)).toMatchObject({ id: job.id, status: "queued" });
    expect(parse(first!.data)).not.toHaveProperty("inputs");

    const halfway = gate();
    const finish = gate();
    const worker = await startJobWorker({
      db: h.db,
      pollMs: 50,
      handlers: {
        "test.steps": async (_job, ctx) => {
          await halfway.opened;
          await ctx.progress(0.5, "half the trials");
          await finish.opened;
          return { trials: 2 };
        },
      },
    });
    try {
      const running = await events.next();
      expect(running?.event).toBe("status");
      expect(parse(running!.data)).toMatchObject({ status: "running", progress: 0 });

      halfway.open();
      const progress = await events.next();
      expect(progress?.event).toBe("progress");
      expect(parse(progress!.data)).toMatchObject({
        status: "running",
        progress: 0.5,
        progress_message: "half the trials",
      });

      finish.open();
      const done = await events.next();
      expect(done).toMatchObject({ event: "status", id: "4" });
      expect(parse(done!.data)).toMatchObject({ status: "succeeded", progress: 1, outputs: { trials: 2 } });
      expect(await events.next()).toBeNull();
    } finally {
      await worker.stop({ graceMs: 1000 });
    }
  });

  it("sends one status event and ends for a job that has already finished", async () => {
    const job = await createJob("test.never-run");
    await h.request(`/v1/jobs/${job.id}/cancel`, { method: "POST", key });
    const events = await openEvents(`/v1/jobs/${job.id}/events`);
    const only = await events.next();
    expect(only?.event).toBe("status");
    expect(parse(only!.data).status).toBe("canceled");
    expect(await events.next()).toBeNull();
  });

  it("stops reading the job when the client disconnects", async () => {
    const job = await createJob("test.never-run");
    const events = await openEvents(`/v1/jobs/${job.id}/events`);
    expect((await events.next())?.event).toBe("status");
    await events.cancel();
    await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS * 2));
    const readsAfterDisconnect = jobs.reads;
    await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS * 4));
    expect(jobs.reads).toBe(readsAfterDisconnect);
  });

  it("sends heartbeat comments while nothing changes", async () => {
    const job = await createJob("test.never-run");
    const events = await openEvents(`/v1/test-fast-heartbeat/${job.id}`);
    expect((await events.next())?.event).toBe("status");
    const pending = events.next();
    await expect.poll(() => events.comments.length).toBeGreaterThanOrEqual(2);
    expect(events.comments[0]).toBe(": heartbeat");
    await events.cancel();
    expect(await pending).toBeNull();
  });

  it("answers 404 as a problem, not a stream, for a job the lab does not have", async () => {
    const res = await h.request("/v1/jobs/job_doesnotexist/events", { key });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
  });
});
