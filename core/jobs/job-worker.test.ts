import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseBackends } from "../../test/helpers/databases.ts";
import { ApiError } from "../contracts/errors.ts";
import type { Database } from "../db/database.ts";
import { JobLeases } from "./job-leases.ts";
import { JobStore } from "./job-store.ts";
import { type JobHandler, startJobWorker } from "./job-worker.ts";
import { createLab } from "./test-support/lab.ts";

const openPolicy = { allowPrivate: true, allowHttp: true };
const hook = { url: "http://127.0.0.1:9/hook" };

describe.each(databaseBackends)("job worker: $name", (backend) => {
  let db: Database;
  let jobs: JobStore;
  let lab: string;
  beforeAll(async () => {
    db = await backend.open();
    jobs = new JobStore(db, openPolicy);
    lab = await createLab(db);
  });
  afterAll(async () => {
    await db.close();
  });

  const eventTypes = async (jobId: string) =>
    (
      await db.query<{ type: string }>(
        "select type from webhook_events where job_id = $1 and lab_id = $2 order by created_at, id",
        [jobId, lab],
      )
    ).map((e) => e.type);

  async function withWorker<T>(
    handlers: Record<string, JobHandler>,
    body: () => Promise<T>,
    options: { leaseMs?: number } = {},
  ): Promise<T> {
    const worker = await startJobWorker({ db, handlers, pollMs: 50, retryDelayMs: () => 10, ...options });
    try {
      return await body();
    } finally {
      await worker.stop({ graceMs: 2000 });
    }
  }

  it("runs a job to success: outputs, progress, metrics and its events in order", async () => {
    const job = await jobs.create({ labId: lab, kind: "ok", inputs: { n: 2 }, webhook: hook });
    await withWorker(
      {
        ok: async (j, ctx) => {
          await ctx.progress(0.5, "halfway");
          return { doubled: (j.inputs as { n: number }).n * 2, attempt: ctx.attempt };
        },
      },
      () => expect.poll(() => jobs.get(lab, job.id).then((j) => j.status)).toBe("succeeded"),
    );
    const done = await jobs.get(lab, job.id);
    expect(done).toMatchObject({
      outputs: { doubled: 4, attempt: 1 },
      progress: 1,
      attempts: 1,
      error: null,
    });
    expect(done.metrics.run_time).toBeGreaterThanOrEqual(0);
    expect(done.metrics.queue_time).toBeGreaterThanOrEqual(0);
    expect(await eventTypes(job.id)).toEqual(["job.started", "job.progress", "job.succeeded"]);
  });

  it("retries unexpected errors until attempts run out, then fails with a problem", async () => {
    const job = await jobs.create({ labId: lab, kind: "flaky", inputs: {}, maxAttempts: 3, webhook: hook });
    let calls = 0;
    await withWorker(
      {
        flaky: async () => {
          calls++;
          throw new Error("GPU fell over");
        },
      },
      () => expect.poll(() => jobs.get(lab, job.id).then((j) => j.status)).toBe("failed"),
    );
    expect(calls).toBe(3);
    const failed = await jobs.get(lab, job.id);
    expect(failed).toMatchObject({ attempts: 3, error: { code: "internal_error", status: 500 } });
    expect(failed.error?.detail).toContain("GPU fell over");
    expect(await eventTypes(job.id)).toEqual(["job.started", "job.failed"]);
  });

  it("succeeds on a retry after a transient failure", async () => {
    const job = await jobs.create({ labId: lab, kind: "once", inputs: {} });
    await withWorker(
      {
        once: async (_j, ctx) => {
          if (ctx.attempt === 1) throw new Error("transient");
          return { ok: true };
        },
      },
      () => expect.poll(() => jobs.get(lab, job.id).then((j) => j.status)).toBe("succeeded"),
    );
    expect(await jobs.get(lab, job.id)).toMatchObject({ attempts: 2, outputs: { ok: true } });
  });

  it("fails at once, without retry, when the handler throws a 4xx ApiError", async () => {
    const job = await jobs.create({ labId: lab, kind: "bad", inputs: {}, maxAttempts: 5 });
    await withWorker(
      {
        bad: async () => {
          throw new ApiError("voxel_count_mismatch", "Expected 15724 voxels, got 100.");
        },
      },
      () => expect.poll(() => jobs.get(lab, job.id).then((j) => j.status)).toBe("failed"),
    );
    expect(await jobs.get(lab, job.id)).toMatchObject({
      attempts: 1,
      error: { code: "voxel_count_mismatch", status: 422, detail: "Expected 15724 voxels, got 100." },
    });
  });

  it("cancels a running job: the flag aborts the handler's signal at its next progress report", async () => {
    const job = await jobs.create({ labId: lab, kind: "long", inputs: {}, webhook: hook });
    let aborted = false;
    await withWorker(
      {
        long: async (_j, ctx) => {
          while (!ctx.signal.aborted) {
            await ctx.progress(0.1);
            await sleep(20);
          }
          aborted = true;
          throw ctx.signal.reason;
        },
      },
      async () => {
        await expect.poll(() => jobs.get(lab, job.id).then((j) => j.status)).toBe("running");
        expect(await jobs.cancel(lab, job.id)).toMatchObject({ status: "running", cancel_requested: true });
        await expect.poll(() => jobs.get(lab, job.id).then((j) => j.status)).toBe("canceled");
      },
    );
    expect(aborted).toBe(true);
    expect(await eventTypes(job.id)).toContain("job.canceled");
    expect(await eventTypes(job.id)).not.toContain("job.failed");
  });

  it("re-claims a job whose worker stopped renewing its lease, without announcing a second start", async () => {
    const job = await jobs.create({ labId: lab, kind: "orphan", inputs: {}, webhook: hook });
    // A worker that claims and then dies: nothing renews the lease.
    const [claimed] = await new JobLeases(db).claim("dead-worker", ["orphan"], 1, 200);
    expect(claimed?.id).toBe(job.id);
    await withWorker({ orphan: async () => ({ recovered: true }) }, () =>
      expect.poll(() => jobs.get(lab, job.id).then((j) => j.status)).toBe("succeeded"),
    );
    expect(await jobs.get(lab, job.id)).toMatchObject({ attempts: 2, outputs: { recovered: true } });
    expect(await eventTypes(job.id)).toEqual(["job.started", "job.succeeded"]);
  });

  it("aborts a handler whose lease was lost, and lets the new owner's outcome stand", async () => {
    const job = await jobs.create({ labId: lab, kind: "usurped", inputs: {} });
    let reason: unknown;
    await withWorker(
      {
        usurped: async (_j, ctx) => {
          while (!ctx.signal.aborted) {
            await ctx.progress(0.2);
            await sleep(20);
          }
          reason = ctx.signal.reason;
          return { from: "the worker that lost its lease" };
        },
      },
      async () => {
        await expect.poll(() => jobs.get(lab, job.id).then((j) => j.status)).toBe("running");
        // Another worker took the job over (as after an expired lease).
        await db.query("update jobs set lease_owner = 'other-worker' where id = $1 and lab_id = $2", [
          job.id,
          lab,
        ]);
        await expect.poll(() => reason).toBeInstanceOf(Error);
      },
    );
    expect(String(reason)).toContain("lost");
    expect(await jobs.get(lab, job.id)).toMatchObject({ status: "running", outputs: null });
  });

  it("fails a job whose worker died on its last attempt", async () => {
    const job = await jobs.create({ labId: lab, kind: "doomed", inputs: {}, maxAttempts: 1, webhook: hook });
    await new JobLeases(db).claim("dead-worker", ["doomed"], 1, 50);
    await sleep(100);
    await new JobLeases(db).sweep();
    expect(await jobs.get(lab, job.id)).toMatchObject({
      status: "failed",
      error: { code: "internal_error" },
    });
    expect(await eventTypes(job.id)).toEqual(["job.started", "job.failed"]);
  });

  it("expires a job not started by its deadline instead of running it", async () => {
    const job = await jobs.create({
      labId: lab,
      kind: "late",
      inputs: {},
      deadline: new Date(Date.now() + 100),
      webhook: hook,
    });
    await sleep(200);
    let ran = false;
    await withWorker(
      {
        late: async () => {
          ran = true;
          return {};
        },
      },
      () => expect.poll(() => jobs.get(lab, job.id).then((j) => j.status)).toBe("expired"),
    );
    expect(ran).toBe(false);
    expect(await eventTypes(job.id)).toEqual(["job.expired"]);
  });

  it("expires a running job at its deadline: its signal aborts, the outputs saved so far stay", async () => {
    const job = await jobs.create({
      labId: lab,
      kind: "overrun",
      inputs: {},
      deadline: new Date(Date.now() + 400),
      webhook: hook,
    });
    let reason: unknown;
    await withWorker(
      {
        overrun: async (_j, ctx) => {
          await ctx.saveOutputs({ done: ["first"] });
          for (;;) {
            reason = ctx.signal.reason;
            ctx.signal.throwIfAborted();
            await ctx.progress(0.5, "step", { step: 1 });
            await sleep(20);
          }
        },
      },
      () => expect.poll(() => jobs.get(lab, job.id).then((j) => j.status)).toBe("expired"),
    );
    expect(String(reason)).toContain("expired");
    expect(await jobs.get(lab, job.id)).toMatchObject({
      outputs: { done: ["first"] },
      progress_detail: { step: 1 },
      error: { code: "deadline_exceeded", status: 504 },
    });
    expect(await eventTypes(job.id)).toEqual(["job.started", "job.progress", "job.expired"]);
  });

  it("expires, not retries, a job whose worker died past its deadline", async () => {
    const job = await jobs.create({
      labId: lab,
      kind: "late-orphan",
      inputs: {},
      deadline: new Date(Date.now() + 150),
      webhook: hook,
    });
    await new JobLeases(db).claim("dead-worker", ["late-orphan"], 1, 50);
    await sleep(250);
    let ran = false;
    await withWorker(
      {
        "late-orphan": async () => {
          ran = true;
          return {};
        },
      },
      () => expect.poll(() => jobs.get(lab, job.id).then((j) => j.status)).toBe("expired"),
    );
    expect(ran).toBe(false);
    expect((await jobs.get(lab, job.id)).error).toMatchObject({ code: "deadline_exceeded" });
  });

  it("announces progress at most once per 2 s and only when it changed", async () => {
    const job = await jobs.create({ labId: lab, kind: "chatty", inputs: {}, webhook: hook });
    await withWorker(
      {
        chatty: async (_j, ctx) => {
          for (let i = 1; i <= 10; i++) await ctx.progress(i / 100);
          return {};
        },
      },
      () => expect.poll(() => jobs.get(lab, job.id).then((j) => j.status)).toBe("succeeded"),
    );
    expect(await eventTypes(job.id)).toEqual(["job.started", "job.progress", "job.succeeded"]);
  });

  it("on stop, releases a job still running after the grace period without using an attempt", async () => {
    const job = await jobs.create({ labId: lab, kind: "stuck", inputs: {} });
    const worker = await startJobWorker({
      db,
      pollMs: 50,
      handlers: {
        stuck: (_j, ctx) => new Promise((_, reject) => ctx.signal.addEventListener("abort", reject)),
      },
    });
    await expect.poll(() => jobs.get(lab, job.id).then((j) => j.status)).toBe("running");
    await worker.stop({ graceMs: 100 });
    expect(await jobs.get(lab, job.id)).toMatchObject({ status: "queued", attempts: 0 });
  });
});
