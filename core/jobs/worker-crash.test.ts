import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseBackends, TEST_POSTGRES_URL } from "../../test/helpers/databases.ts";
import type { Database } from "../db/database.ts";
import { JobStore } from "./job-store.ts";
import { createLab } from "./test-support/lab.ts";
import { type Receiver, startReceiver } from "./test-support/receiver.ts";
import { WebhookDeliveries } from "./webhook-deliveries.ts";
import { startWebhookDispatcher, type WebhookDispatcher } from "./webhook-dispatcher.ts";

const WORKER_SCRIPT = fileURLToPath(new URL("./test-support/crash-worker.ts", import.meta.url));
const embedded = { allowPrivate: true, allowHttp: true };

/** Starts the worker script in its own process; resolves with it once it prints that a handler started. */
async function startWorkerProcess(
  databaseUrl: string,
): Promise<{ child: ChildProcess; started: Promise<string> }> {
  const child = spawn(process.execPath, ["--import", "tsx", WORKER_SCRIPT], {
    env: { ...process.env, DATABASE_URL: databaseUrl, LEASE_MS: "1000" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const started = new Promise<string>((resolve) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      const line = chunk
        .toString()
        .split("\n")
        .find((l) => l.startsWith("running "));
      if (line) resolve(line);
    });
  });
  return { child, started };
}

// PGlite lives in one process; a worker in another process needs the server.
describe.each(databaseBackends.filter((b) => b.name === "postgres"))(
  "a worker killed mid-job: $name",
  (backend) => {
    let db: Database;
    let receiver: Receiver;
    let dispatcher: WebhookDispatcher;
    const children: ChildProcess[] = [];
    let succeededAnswers = 0;
    beforeAll(async () => {
      db = await backend.open();
      // The first job.succeeded attempt fails, so the event is retried: every attempt must carry one webhook-id.
      receiver = await startReceiver((hook) =>
        hook.type === "job.succeeded" && succeededAnswers++ === 0 ? { status: 500 } : { status: 204 },
      );
      dispatcher = await startWebhookDispatcher({
        db,
        policy: embedded,
        pollMs: 50,
        retryDelaysMs: [100, 100, 100],
      });
    });
    afterAll(async () => {
      for (const child of children)
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await dispatcher.stop();
      await receiver.close();
      await db.close();
    });

    it("is replaced after its lease expires: the job succeeds and the receiver accepts one job.succeeded", async () => {
      const [{ name }] = (await db.query<{ name: string }>("select current_database() as name")) as [
        { name: string },
      ];
      const url = new URL(TEST_POSTGRES_URL);
      url.pathname = `/${name}`;
      const lab = await createLab(db);
      const jobs = new JobStore(db, embedded);
      const job = await jobs.create({
        labId: lab,
        kind: "crashy",
        inputs: {},
        webhook: { url: receiver.url },
      });

      const first = await startWorkerProcess(url.toString());
      children.push(first.child);
      expect(await first.started).toBe(`running ${job.id} 1`);
      await expect.poll(() => jobs.get(lab, job.id).then((j) => j.progress)).toBe(0.5);
      first.child.kill("SIGKILL");
      await once(first.child, "exit");
      expect(await jobs.get(lab, job.id)).toMatchObject({ status: "running", attempts: 1 });

      const second = await startWorkerProcess(url.toString());
      children.push(second.child);
      expect(await second.started).toBe(`running ${job.id} 2`);
      await expect
        .poll(() => jobs.get(lab, job.id).then((j) => j.status), { timeout: 10_000 })
        .toBe("succeeded");
      expect(await jobs.get(lab, job.id)).toMatchObject({ attempts: 2, outputs: { attempt: 2 } });

      const deliveries = new WebhookDeliveries(db);
      await expect
        .poll(
          async () =>
            (await deliveries.listForJob(lab, job.id)).some(
              (d) => d.event_type === "job.succeeded" && d.status_code === 204,
            ),
          {
            timeout: 10_000,
          },
        )
        .toBe(true);
      const succeeded = receiver.received.filter((r) => r.type === "job.succeeded");
      expect(succeeded.length).toBe(2);
      expect(new Set(succeeded.map((r) => r.headers["webhook-id"])).size).toBe(1);
      expect(receiver.received.filter((r) => r.type === "job.started")).toHaveLength(1);

      second.child.kill("SIGTERM");
      expect((await once(second.child, "exit"))[0]).toBe(0);
    });
  },
);
