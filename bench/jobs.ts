/**
 * Job queue and webhook throughput on the PostgreSQL server.
 *
 * 1. Jobs/s claimed and completed by 1, 2 and 4 worker processes (each `startJobWorker` with concurrency 8)
 *    running a trivial handler, against a baseline of bare SQL (one connection claiming one row with
 *    SKIP LOCKED and marking it succeeded, in a loop). The batch-embedding handler comes later; this
 *    measures the queue's own cost.
 * 2. Deliveries/s of the webhook dispatcher (signing, SSRF check, POST, delivery log) to a local receiver,
 *    against bare POSTs of the same bodies at the same concurrency.
 *
 * `npx tsx bench/jobs.ts`; BENCH_JOBS and BENCH_EVENTS set the counts. Worker processes run this same file
 * with `worker <database url>`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import pLimit from "p-limit";
import { openPostgres } from "../core/db/postgres.ts";
import { startJobWorker } from "../core/jobs/job-worker.ts";
import { startWebhookDispatcher } from "../core/jobs/webhook-dispatcher.ts";
import { databaseBackends, TEST_POSTGRES_URL } from "../test/helpers/databases.ts";
import { fmt, machineLine } from "./harness.ts";

const JOBS = Number(process.env.BENCH_JOBS ?? 4000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 2000);
const WORKER_CONCURRENCY = 8;
const DELIVERY_CONCURRENCY = 16;

if (process.argv[2] === "worker") {
  const db = await openPostgres(process.argv[3]!, WORKER_CONCURRENCY + 2);
  const worker = await startJobWorker({
    db,
    concurrency: WORKER_CONCURRENCY,
    handlers: { trivial: async () => ({ ok: true }) },
  });
  process.on("SIGTERM", async () => {
    await worker.stop();
    await db.close();
    process.exit(0);
  });
  console.log("ready");
} else {
  await main();
}

async function main(): Promise<void> {
  const db = await databaseBackends.find((b) => b.name === "postgres")!.open();
  const [{ name }] = (await db.query<{ name: string }>("select current_database() as name")) as [
    { name: string },
  ];
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  const labId = "lab_bench";
  await db.query("insert into labs (id, name) values ($1, $1)", [labId]);

  const enqueue = (n: number) =>
    db.transaction(async (tx) => {
      await tx.query(
        `insert into jobs (id, lab_id, kind, inputs)
         select 'job_' || md5(random()::text || g), $1, 'trivial', '{}' from generate_series(1, $2) g`,
        [labId, n],
      );
      await tx.query("select pg_notify('mindeye_jobs', 'trivial')");
    });
  const succeeded = async () =>
    (await db.query<{ n: number }>("select count(*)::int8 as n from jobs where status = 'succeeded'"))[0]!.n;

  console.log(`# Job queue and webhooks — ${machineLine()}`);
  console.log(
    `PostgreSQL ${(await db.query<{ v: string }>("select current_setting('server_version') as v"))[0]!.v}, ${JOBS} jobs, ${EVENTS} events\n`,
  );

  // Baseline: the floor the database sets, one connection claiming and completing one row at a time.
  await enqueue(JOBS);
  let start = performance.now();
  for (;;) {
    const rows = await db.query(
      `with next as (select id from jobs where status = 'queued' order by created_at, id limit 1 for update skip locked)
       update jobs set status = 'succeeded', completed_at = now() from next where jobs.id = next.id returning 1`,
    );
    if (rows.length === 0) break;
  }
  const baseline = JOBS / ((performance.now() - start) / 1000);
  await db.query("delete from jobs");

  console.log("| worker processes (x8 concurrency) | jobs/s | ratio to bare SQL loop |");
  console.log("|---|---|---|");
  console.log(`| bare SQL claim+complete loop, 1 connection | ${fmt(baseline, 0)} | 1.000 |`);
  for (const processes of [1, 2, 4]) {
    const workers = await Promise.all(Array.from({ length: processes }, () => startWorker(url.toString())));
    start = performance.now();
    await enqueue(JOBS);
    while ((await succeeded()) < JOBS) await new Promise((r) => setTimeout(r, 20));
    const rate = JOBS / ((performance.now() - start) / 1000);
    console.log(`| ${processes} | ${fmt(rate, 0)} | ${fmt(rate / baseline, 3)} |`);
    await Promise.all(workers.map(stopWorker));
    await db.query("delete from jobs");
  }

  // Deliveries: jobs with subscriptions, one outbox event each, sent by an in-process dispatcher.
  const receiver = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(204).end());
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  const payload = JSON.stringify({
    type: "job.succeeded",
    timestamp: new Date().toISOString(),
    data: { id: "job_x" },
  });

  const agent = new http.Agent({ keepAlive: true });
  const limit = pLimit(DELIVERY_CONCURRENCY);
  start = performance.now();
  await Promise.all(
    Array.from({ length: EVENTS }, () =>
      limit(
        () =>
          new Promise<void>((resolve, reject) => {
            const req = http.request(
              hookUrl,
              { method: "POST", agent, headers: { "content-type": "application/json" } },
              (res) => {
                res.resume();
                res.on("end", resolve);
              },
            );
            req.on("error", reject);
            req.end(payload);
          }),
      ),
    ),
  );
  const bareDeliveries = EVENTS / ((performance.now() - start) / 1000);
  agent.destroy();

  await db.transaction(async (tx) => {
    await tx.query(
      `insert into jobs (id, lab_id, kind, inputs, status)
       select 'job_' || g, $1, 'trivial', '{}', 'succeeded' from generate_series(1, $2) g`,
      [labId, EVENTS],
    );
    await tx.query(
      `insert into job_webhooks (job_id, lab_id, url, events)
       select 'job_' || g, $1, $3, array['job.succeeded'] from generate_series(1, $2) g`,
      [labId, EVENTS, hookUrl],
    );
  });
  const dispatcher = await startWebhookDispatcher({
    db,
    policy: { allowPrivate: true, allowHttp: true },
    concurrency: DELIVERY_CONCURRENCY,
  });
  start = performance.now();
  await db.query(
    `insert into webhook_events (id, lab_id, job_id, type, payload)
     select 'evt_' || g, $1, 'job_' || g, 'job.succeeded', $3 from generate_series(1, $2) g`,
    [labId, EVENTS, payload],
  );
  await db.query("select pg_notify('mindeye_webhooks', 'bench')");
  const delivered = async () =>
    (
      await db.query<{ n: number }>(
        "select count(*)::int8 as n from webhook_events where status = 'delivered'",
      )
    )[0]!.n;
  while ((await delivered()) < EVENTS) await new Promise((r) => setTimeout(r, 20));
  const ours = EVENTS / ((performance.now() - start) / 1000);
  await dispatcher.stop();
  receiver.close();

  console.log(`\n| webhooks (x${DELIVERY_CONCURRENCY} concurrency) | deliveries/s | ratio to bare POSTs |`);
  console.log("|---|---|---|");
  console.log(`| bare keep-alive POSTs | ${fmt(bareDeliveries, 0)} | 1.000 |`);
  console.log(
    `| dispatcher (claim, sign, SSRF check, POST, log) | ${fmt(ours, 0)} | ${fmt(ours / bareDeliveries, 3)} |`,
  );
  await db.close();
}

async function startWorker(databaseUrl: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", fileURLToPath(import.meta.url), "worker", databaseUrl],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  await new Promise<void>((resolve) => child.stdout!.once("data", () => resolve()));
  return child;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}
