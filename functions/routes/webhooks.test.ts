import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WebhookDelivery, WebhookSecretRecord } from "../../core/contracts/jobs.ts";
import { startReceiver } from "../../core/jobs/test-support/receiver.ts";
import { startWebhookDispatcher } from "../../core/jobs/webhook-dispatcher.ts";
import { createHarness, type Harness, TEST_WEBHOOK_POLICY } from "../../test/helpers/harness.ts";
import type { JobResource } from "../jobs/job-schemas.ts";
import { registerTestJobRoute, TEST_JOB_PATH } from "../jobs/test-support/test-job-route.ts";

let h: Harness;
let key: string;
let otherKey: string;
beforeAll(async () => {
  h = await createHarness();
  registerTestJobRoute(h.app);
  key = await h.keyFor("lab-webhooks");
  otherKey = await h.keyFor("lab-webhooks-other");
});
afterAll(() => h.close());

const getSecret = async (asKey = key) =>
  (await (await h.request("/v1/webhooks/secret", { key: asKey })).json()) as WebhookSecretRecord;

const listDeliveries = async (jobId: string) => {
  const res = await h.request(`/v1/jobs/${jobId}/deliveries`, { key });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: WebhookDelivery[] }).data;
};

describe("webhook secret", () => {
  it("creates a whsec_ secret on first use, the same on every read, and one per lab", async () => {
    const first = await getSecret();
    expect(first.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{32,}$/);
    expect(first.previous).toEqual([]);
    expect((await getSecret()).secret).toBe(first.secret);
    expect((await getSecret(otherKey)).secret).not.toBe(first.secret);
  });

  it("rotates to a new secret, keeping the old one signing for a day", async () => {
    const before = await getSecret();
    const res = await h.request("/v1/webhooks/secret/rotate", { method: "POST", key });
    expect(res.status).toBe(200);
    const rotated = (await res.json()) as WebhookSecretRecord;
    expect(rotated.secret).not.toBe(before.secret);
    expect(rotated.previous).toHaveLength(1);
    const grace = Date.parse(rotated.previous[0]!.expires_at) - Date.now();
    expect(grace).toBeGreaterThan(23 * 3600_000);
    expect(grace).toBeLessThanOrEqual(24 * 3600_000);
    expect(await getSecret()).toEqual(rotated);
  });
});

describe("webhook deliveries", () => {
  it("lists what a real dispatcher delivered, signed with the lab's secret, and redelivers it", async () => {
    const receiver = await startReceiver(() => ({ status: 204 }));
    const dispatcher = await startWebhookDispatcher({ db: h.db, policy: TEST_WEBHOOK_POLICY, pollMs: 25 });
    try {
      const created = await h.request(TEST_JOB_PATH, {
        method: "POST",
        key,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ inputs: {}, webhook: { url: receiver.url, events: ["job.canceled"] } }),
      });
      const job = (await created.json()) as JobResource;
      await h.request(`/v1/jobs/${job.id}/cancel`, { method: "POST", key });

      await expect.poll(() => listDeliveries(job.id).then((d) => d.length)).toBe(1);
      const [delivery] = await listDeliveries(job.id);
      expect(delivery).toMatchObject({
        event_type: "job.canceled",
        event_status: "delivered",
        attempt: 1,
        url: receiver.url,
        status_code: 204,
        error: null,
      });
      const [hook] = receiver.received;
      expect(hook!.headers["webhook-id"]).toBe(delivery!.event_id);
      const verified = new Webhook((await getSecret()).secret).verify(hook!.body, hook!.headers) as {
        type: string;
        data: { id: string; status: string };
      };
      expect(verified).toMatchObject({ type: "job.canceled", data: { id: job.id, status: "canceled" } });

      const again = await h.request(`/v1/jobs/${job.id}/deliveries/${delivery!.event_id}/redeliver`, {
        method: "POST",
        key,
      });
      expect(again.status).toBe(202);
      await expect.poll(() => receiver.received.length).toBe(2);
      expect(receiver.received[1]!.headers["webhook-id"]).toBe(delivery!.event_id);
      expect(receiver.received[1]!.body).toBe(hook!.body);
      await expect.poll(() => listDeliveries(job.id).then((d) => d.length)).toBe(2);

      const unknown = await h.request(`/v1/jobs/${job.id}/deliveries/evt_unknown/redeliver`, {
        method: "POST",
        key,
      });
      expect(unknown.status).toBe(404);
    } finally {
      await dispatcher.stop();
      await receiver.close();
    }
  });

  it("lists no deliveries for a job without a webhook", async () => {
    const created = await h.request(TEST_JOB_PATH, {
      method: "POST",
      key,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs: {} }),
    });
    const job = (await created.json()) as JobResource;
    expect(await listDeliveries(job.id)).toEqual([]);
  });
});
