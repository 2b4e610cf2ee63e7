import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseBackends } from "../../test/helpers/databases.ts";
import type { Database } from "../db/database.ts";
import { JobStore } from "./job-store.ts";
import { createLab } from "./test-support/lab.ts";
import { startReceiver } from "./test-support/receiver.ts";
import { WebhookDeliveries } from "./webhook-deliveries.ts";
import { startWebhookDispatcher } from "./webhook-dispatcher.ts";
import { checkWebhookUrl, type ResolveHost } from "./webhook-url-guard.ts";

const strict = { allowPrivate: false, allowHttp: true };
const publicResolver: ResolveHost = async () => [{ address: "93.184.215.14", family: 4 }];

const REFUSED = [
  "http://127.0.0.1/hook",
  "http://127.1.2.3:8080/hook",
  "http://10.0.0.1/hook",
  "http://10.255.3.4/hook",
  "http://192.168.1.10/hook",
  "http://172.16.0.1/hook",
  "http://169.254.169.254/latest/meta-data/",
  "http://[::1]/hook",
  "http://[::ffff:127.0.0.1]/hook",
  "http://[::ffff:10.0.0.1]/hook",
  "http://[fe80::1]/hook",
  "http://[fd00:ec2::254]/hook",
  "http://0.0.0.0/hook",
  "http://[::]/hook",
  "http://224.0.0.1/hook",
  "http://localhost/hook",
  // IPv6 forms that carry a private or metadata IPv4 address.
  "http://[::127.0.0.1]/hook",
  "http://[::7f00:1]/hook",
  "http://[::a9fe:a9fe]/hook",
  "http://[::10.0.0.1]/hook",
  "http://[::ffff:0:7f00:1]/hook",
  "http://[64:ff9b::7f00:1]/hook",
  "http://[64:ff9b:1::a00:1]/hook",
  "http://[2002:7f00:1::]/hook",
  "http://[2002:a9fe:a9fe::1]/hook",
  // ECS task credentials and EKS Pod Identity.
  "http://169.254.170.2/v2/credentials",
  "http://169.254.170.23/v1/credentials",
  "http://[fd00:ec2::23]/",
];

describe("webhook URL guard", () => {
  it.each(REFUSED)("refuses %s when private targets are not allowed", async (url) => {
    await expect(checkWebhookUrl(url, strict)).rejects.toMatchObject({
      code: "webhook_url_refused",
      status: 422,
    });
  });

  it("refuses a host name that resolves to a private address, or to any among public ones", async () => {
    const privateName: ResolveHost = async () => [{ address: "10.1.2.3", family: 4 }];
    const mixed: ResolveHost = async () => [
      { address: "93.184.215.14", family: 4 },
      { address: "::ffff:192.168.0.1", family: 6 },
    ];
    for (const resolve of [privateName, mixed]) {
      await expect(
        checkWebhookUrl("https://hooks.example.org/x", { ...strict, resolve }),
      ).rejects.toMatchObject({ code: "webhook_url_refused" });
    }
  });

  it("accepts a public address and pins the checked one", async () => {
    const target = await checkWebhookUrl("https://hooks.example.org/x", {
      ...strict,
      resolve: publicResolver,
    });
    expect(target).toMatchObject({ address: "93.184.215.14", family: 4 });
    expect(target.url.hostname).toBe("hooks.example.org");
  });

  it("refuses plain http unless allowed, other schemes and credentials always", async () => {
    const https = { allowPrivate: false, allowHttp: false, resolve: publicResolver };
    await expect(checkWebhookUrl("http://hooks.example.org/x", https)).rejects.toMatchObject({
      code: "webhook_url_refused",
    });
    await expect(
      checkWebhookUrl("ftp://hooks.example.org/x", { ...https, allowHttp: true }),
    ).rejects.toThrow();
    await expect(checkWebhookUrl("https://u:p@hooks.example.org/x", https)).rejects.toThrow();
    await expect(checkWebhookUrl("not a url", https)).rejects.toMatchObject({ code: "webhook_url_refused" });
  });

  it("allows loopback and private targets where the deployment allows them, but never metadata", async () => {
    const embedded = { allowPrivate: true, allowHttp: true };
    await expect(checkWebhookUrl("http://127.0.0.1:8080/hook", embedded)).resolves.toMatchObject({
      address: "127.0.0.1",
    });
    await expect(checkWebhookUrl("http://[::ffff:10.0.0.1]/hook", embedded)).resolves.toBeTruthy();
    for (const url of [
      "http://169.254.169.254/",
      "http://169.254.170.2/v2/credentials",
      "http://169.254.170.23/v1/credentials",
      "http://[fd00:ec2::23]/",
      "http://[::a9fe:a9fe]/",
      "http://[::ffff:169.254.170.2]/",
      "http://[64:ff9b::a9fe:aa02]/",
    ]) {
      await expect(checkWebhookUrl(url, embedded), url).rejects.toMatchObject({
        code: "webhook_url_refused",
      });
    }
  });

  it("still accepts public IPv6 addresses", async () => {
    for (const url of ["https://[2606:4700:4700::1111]/hook", "https://[2a00:1450:4001:82a::200e]/hook"]) {
      await expect(checkWebhookUrl(url, strict), url).resolves.toMatchObject({ family: 6 });
    }
  });
});

describe.each(databaseBackends)("webhook URL guard at creation and delivery: $name", (backend) => {
  let db: Database;
  let lab: string;
  beforeAll(async () => {
    db = await backend.open();
    lab = await createLab(db);
  });
  afterAll(async () => {
    await db.close();
  });

  it("refuses private targets when the job is created, writing nothing", async () => {
    const jobs = new JobStore(db, strict);
    for (const url of ["http://127.0.0.1/h", "http://10.0.0.8/h", "http://[::ffff:127.0.0.1]/h"]) {
      await expect(
        jobs.create({ labId: lab, kind: "k", inputs: {}, webhook: { url } }),
      ).rejects.toMatchObject({ code: "webhook_url_refused" });
    }
    expect((await jobs.list(lab, { limit: 10 })).data).toEqual([]);
  });

  it("checks again at delivery: refused targets are logged as attempts and never sent", async () => {
    const receiver = await startReceiver();
    const port = new URL(receiver.url).port;
    // Subscriptions made while private targets were allowed, or while a name still resolved to a public
    // address (DNS rebinding), are delivered by a dispatcher that does not allow them.
    const lenient = new JobStore(db, { allowPrivate: true, allowHttp: true });
    const rebinding = new JobStore(db, { ...strict, resolve: publicResolver });
    const urls = [
      `http://127.0.0.1:${port}/hooks`,
      `http://10.0.0.1:${port}/hooks`,
      `http://[::1]:${port}/hooks`,
      `http://[::ffff:127.0.0.1]:${port}/hooks`,
      `http://[::127.0.0.1]:${port}/hooks`,
    ];
    const jobIds: string[] = [];
    for (const url of urls) {
      jobIds.push((await lenient.create({ labId: lab, kind: "k", inputs: {}, webhook: { url } })).id);
    }
    const named = `http://hooks.example.test:${port}/hooks`;
    jobIds.push((await rebinding.create({ labId: lab, kind: "k", inputs: {}, webhook: { url: named } })).id);
    for (const id of jobIds) await lenient.cancel(lab, id);

    const toLoopback: ResolveHost = async () => [{ address: "127.0.0.1", family: 4 }];
    const dispatcher = await startWebhookDispatcher({
      db,
      policy: { ...strict, resolve: toLoopback },
      pollMs: 50,
      retryDelaysMs: [60_000],
    });
    const deliveries = new WebhookDeliveries(db);
    try {
      for (const id of jobIds) await expect.poll(() => deliveries.listForJob(lab, id)).toHaveLength(1);
    } finally {
      await dispatcher.stop();
      await receiver.close();
    }
    for (const id of jobIds) {
      const [attempt] = await deliveries.listForJob(lab, id);
      expect(attempt).toMatchObject({
        event_type: "job.canceled",
        status_code: null,
        event_status: "pending",
      });
      expect(attempt!.error).toMatch(/^webhook_url_refused/);
    }
    expect(receiver.received).toEqual([]);
  });
});
