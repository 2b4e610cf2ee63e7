import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseBackends } from "../../test/helpers/databases.ts";
import type { Database } from "../db/database.ts";
import { createLab } from "./test-support/lab.ts";
import { WebhookSecretStore } from "./webhook-secrets.ts";
import { newWebhookSecret, signWebhook } from "./webhook-signing.ts";

describe("webhook signing", () => {
  it("reproduces the Standard Webhooks test vector", () => {
    // From the spec's reference library tests (python test_sign_function; the JS tests use the same values).
    const headers = signWebhook(
      ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      1614265330,
      '{"test": 2432232314}',
    );
    expect(headers).toEqual({
      "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
      "webhook-timestamp": "1614265330",
      "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    });
  });

  it("makes whsec_ secrets of 32 random bytes that the standardwebhooks library verifies with", () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(secret.slice(6), "base64")).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(secret);
    const body = JSON.stringify({ type: "job.succeeded", data: { id: "job_x" } });
    const headers = signWebhook([secret], "evt_1", Math.floor(Date.now() / 1000), body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
  });
});

describe.each(databaseBackends)("webhook secrets: $name", (backend) => {
  let db: Database;
  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => {
    await db.close();
  });

  it("creates one secret per lab on first use and returns the same one after", async () => {
    const store = new WebhookSecretStore(db);
    const lab = await createLab(db);
    const [a, b] = await Promise.all([store.get(lab), store.get(lab)]);
    expect(a.secret).toBe(b.secret);
    expect(a.previous).toEqual([]);
    expect((await store.get(await createLab(db))).secret).not.toBe(a.secret);
  });

  it("rotates: both secrets sign during the grace period, receivers holding either verify", async () => {
    const store = new WebhookSecretStore(db);
    const lab = await createLab(db);
    const old = (await store.get(lab)).secret;
    const rotated = await store.rotate(lab, 60_000);
    expect(rotated.secret).not.toBe(old);
    expect(rotated.previous).toHaveLength(1);

    const secrets = await store.signingSecrets(lab);
    expect(secrets).toEqual([rotated.secret, old]);
    const body = '{"type":"job.started"}';
    const headers = signWebhook(secrets, "evt_2", Math.floor(Date.now() / 1000), body);
    expect(headers["webhook-signature"]).toMatch(/^v1,\S+ v1,\S+$/);
    for (const secret of [old, rotated.secret])
      expect(new Webhook(secret).verify(body, headers)).toBeTruthy();
  });

  it("stops signing with a rotated-out secret once its grace period ends", async () => {
    const store = new WebhookSecretStore(db);
    const lab = await createLab(db);
    await store.get(lab);
    const rotated = await store.rotate(lab, 0);
    expect(await store.signingSecrets(lab)).toEqual([rotated.secret]);
    expect((await store.get(lab)).previous).toEqual([]);
  });
});
