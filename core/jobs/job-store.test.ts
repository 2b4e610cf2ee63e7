import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseBackends } from "../../test/helpers/databases.ts";
import type { Database } from "../db/database.ts";
import { JobStore } from "./job-store.ts";
import { createLab } from "./test-support/lab.ts";

const openPolicy = { allowPrivate: true, allowHttp: true };

describe.each(databaseBackends)("job store: $name", (backend) => {
  let db: Database;
  let jobs: JobStore;
  let lab: string;
  let otherLab: string;
  beforeAll(async () => {
    db = await backend.open();
    jobs = new JobStore(db, openPolicy);
    lab = await createLab(db);
    otherLab = await createLab(db);
  });
  afterAll(async () => {
    await db.close();
  });

  it("creates a queued job with its webhook subscription, readable only by its lab", async () => {
    const job = await jobs.create({
      labId: lab,
      kind: "reconstruction",
      inputs: { upload_id: "upl_x" },
      params: { steps: 20 },
      webhook: { url: "http://127.0.0.1:9/hook", events: ["job.succeeded"] },
    });
    expect(job).toMatchObject({
      id: expect.stringMatching(/^job_/),
      status: "queued",
      progress: 0,
      attempts: 0,
      max_attempts: 3,
      inputs: { upload_id: "upl_x" },
      params: { steps: 20 },
      started_at: null,
      webhook: { url: "http://127.0.0.1:9/hook", events: ["job.succeeded"], disabled_at: null },
    });
    expect(job.metrics.run_time).toBeNull();
    expect(await jobs.get(lab, job.id)).toMatchObject({ id: job.id, status: "queued" });
    await expect(jobs.get(otherLab, job.id)).rejects.toMatchObject({ code: "not_found" });
    await expect(jobs.cancel(otherLab, job.id)).rejects.toMatchObject({ code: "not_found" });
  });

  it("rolls the job back with the transaction it was created in", async () => {
    const before = (await jobs.list(lab, { limit: 100 })).data.length;
    await expect(
      db.transaction(async (tx) => {
        await jobs.create({ labId: lab, kind: "k", inputs: {} }, tx);
        throw new Error("the request failed after creating");
      }),
    ).rejects.toThrow();
    expect((await jobs.list(lab, { limit: 100 })).data).toHaveLength(before);
  });

  it("lists newest first by pages, filtered by status, never another lab's", async () => {
    const own = await createLab(db);
    const created: string[] = [];
    for (let i = 0; i < 7; i++)
      created.push((await jobs.create({ labId: own, kind: "k", inputs: { i } })).id);
    await jobs.create({ labId: otherLab, kind: "k", inputs: {} });
    await jobs.cancel(own, created[0]!);

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await jobs.list(own, { limit: 3, cursor });
      expect(page.data.length).toBeLessThanOrEqual(3);
      seen.push(...page.data.map((j) => j.id));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual([...created].reverse());

    const canceled = await jobs.list(own, { limit: 10, status: "canceled" });
    expect(canceled.data.map((j) => j.id)).toEqual([created[0]]);
    await expect(jobs.list(own, { limit: 3, cursor: "bm9wZQ" })).rejects.toMatchObject({
      code: "invalid_request",
    });
  });

  it("cancels a queued job at once, again without error, and refuses finished ones", async () => {
    const job = await jobs.create({ labId: lab, kind: "k", inputs: {} });
    const canceled = await jobs.cancel(lab, job.id);
    expect(canceled).toMatchObject({ status: "canceled", cancel_requested: true });
    expect(canceled.completed_at).not.toBeNull();
    expect(await jobs.cancel(lab, job.id)).toMatchObject({ status: "canceled" });

    const done = await jobs.create({ labId: lab, kind: "k", inputs: {} });
    await db.query("update jobs set status = 'succeeded' where id = $1", [done.id]);
    await expect(jobs.cancel(lab, done.id)).rejects.toMatchObject({
      code: "job_not_cancelable",
      status: 409,
    });
  });

  it("writes job.canceled to the outbox in the cancel's transaction", async () => {
    const job = await jobs.create({
      labId: lab,
      kind: "k",
      inputs: { values: [1, 2, 3] },
      webhook: { url: "http://127.0.0.1:9/hook" },
    });
    await jobs.cancel(lab, job.id);
    const events = await db.query<{ type: string; payload: string }>(
      "select type, payload from webhook_events where job_id = $1 and lab_id = $2",
      [job.id, lab],
    );
    expect(events.map((e) => e.type)).toEqual(["job.canceled"]);
    expect(JSON.parse(events[0]!.payload)).toMatchObject({
      type: "job.canceled",
      data: { id: job.id, status: "canceled" },
    });
  });
});
