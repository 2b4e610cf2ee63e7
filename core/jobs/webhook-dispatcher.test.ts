import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseBackends } from "../../test/helpers/databases.ts";
import type { Database } from "../db/database.ts";
import { JobStore } from "./job-store.ts";
import { createLab } from "./test-support/lab.ts";
import { type Answer, type ReceivedWebhook, startReceiver } from "./test-support/receiver.ts";
import { WebhookDeliveries } from "./webhook-deliveries.ts";
import { startWebhookDispatcher } from "./webhook-dispatcher.ts";
import { WebhookSecretStore } from "./webhook-secrets.ts";

const embedded = { allowPrivate: true, allowHttp: true };

describe.each(databaseBackends)("webhook dispatcher: $name", (backend) => {
  let db: Database;
  let lab: string;
  let jobs: JobStore;
  let deliveries: WebhookDeliveries;
  beforeAll(async () => {
    db = await backend.open();
    lab = await createLab(db);
    jobs = new JobStore(db, embedded);
    deliveries = new WebhookDeliveries(db);
  });
  afterAll(async () => {
    await db.close();
  });

  /** A canceled job (so an event is in the outbox) whose webhook goes to a receiver answering as told. */
  async function scenario(
    answer: (hook: ReceivedWebhook, n: number) => Answer,
    retryDelaysMs = [50, 50, 50],
  ) {
    const receiver = await startReceiver(answer);
    const job = await jobs.create({ labId: lab, kind: "k", inputs: {}, webhook: { url: receiver.url } });
    await jobs.cancel(lab, job.id);
    const dispatcher = await startWebhookDispatcher({
      db,
      policy: embedded,
      pollMs: 25,
      timeoutMs: 300,
      retryDelaysMs,
      jitter: 0,
    });
    return {
      receiver,
      jobId: job.id,
      async stop() {
        await dispatcher.stop();
        await receiver.close();
      },
    };
  }

  it("retries through a 500 and a timeout until accepted, logging every attempt, with one webhook-id", async () => {
    const answers: Answer[] = [{ status: 500 }, "hang", { status: 200 }];
    const s = await scenario((_hook, n) => answers[n] ?? { status: 200 });
    try {
      await expect.poll(() => deliveries.listForJob(lab, s.jobId).then((d) => d.length)).toBe(3);
      await expect
        .poll(() => deliveries.listForJob(lab, s.jobId).then((d) => d[2]?.event_status))
        .toBe("delivered");
    } finally {
      await s.stop();
    }
    const log = await deliveries.listForJob(lab, s.jobId);
    expect(log.map((d) => [d.attempt, d.status_code])).toEqual([
      [1, 500],
      [2, null],
      [3, 200],
    ]);
    expect(log[0]!.error).toBe("HTTP 500");
    expect(log[1]!.error).toMatch(/no response within 300 ms/);
    expect(log[1]!.duration_ms).toBeGreaterThanOrEqual(290);
    expect(log[2]!.error).toBeNull();
    expect(new Set(log.map((d) => d.event_id)).size).toBe(1);

    const ids = new Set(s.receiver.received.map((r) => r.headers["webhook-id"]));
    expect(ids).toEqual(new Set([log[0]!.event_id]));
    const secret = (await new WebhookSecretStore(db).get(lab)).secret;
    for (const hook of s.receiver.received) {
      expect(new Webhook(secret).verify(hook.body, hook.headers)).toMatchObject({
        type: "job.canceled",
        data: { id: s.jobId, status: "canceled" },
      });
    }
    // The body is the stored payload, byte for byte, on every attempt.
    expect(new Set(s.receiver.received.map((r) => r.body)).size).toBe(1);
  });

  it("gives an event up after the last retry", async () => {
    const s = await scenario(() => ({ status: 503 }), [20]);
    try {
      await expect
        .poll(() => deliveries.listForJob(lab, s.jobId).then((d) => d.at(-1)?.event_status))
        .toBe("failed");
    } finally {
      await s.stop();
    }
    expect((await deliveries.listForJob(lab, s.jobId)).map((d) => d.status_code)).toEqual([503, 503]);
  });

  it("honours Retry-After when it asks for longer than the schedule", async () => {
    const s = await scenario(
      (_hook, n) => (n === 0 ? { status: 429, headers: { "retry-after": "1" } } : { status: 200 }),
      [10],
    );
    try {
      await expect.poll(() => s.receiver.received.length, { timeout: 5000 }).toBe(2);
    } finally {
      await s.stop();
    }
    const [first, second] = await db.query<{ created_at: Date }>(
      "select created_at from webhook_deliveries where job_id = $1 and lab_id = $2 order by attempt",
      [s.jobId, lab],
    );
    expect(second!.created_at.getTime() - first!.created_at.getTime()).toBeGreaterThanOrEqual(950);
  });

  it("disables the subscription on 410 Gone, and a redelivery enables it again", async () => {
    let gone = true;
    const s = await scenario(() => (gone ? { status: 410 } : { status: 204 }));
    try {
      await expect
        .poll(() => deliveries.listForJob(lab, s.jobId).then((d) => d[0]?.event_status))
        .toBe("disabled");
      expect((await jobs.get(lab, s.jobId)).webhook?.disabled_at).not.toBeNull();
      expect(s.receiver.received).toHaveLength(1);

      gone = false;
      const [attempt] = await deliveries.listForJob(lab, s.jobId);
      await deliveries.redeliver(lab, s.jobId, attempt!.event_id);
      await expect
        .poll(() => deliveries.listForJob(lab, s.jobId).then((d) => d.at(-1)?.event_status))
        .toBe("delivered");
    } finally {
      await s.stop();
    }
    expect((await jobs.get(lab, s.jobId)).webhook?.disabled_at).toBeNull();
    expect(new Set(s.receiver.received.map((r) => r.headers["webhook-id"])).size).toBe(1);
    await expect(deliveries.redeliver(lab, s.jobId, "evt_nope")).rejects.toMatchObject({ code: "not_found" });
    await expect(deliveries.listForJob(await createLab(db), s.jobId)).rejects.toMatchObject({
      code: "not_found",
    });
  });
});
