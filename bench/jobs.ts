/**
 * Job queue and webhook throughput on the PostgreSQL server.
 *
 * 1. Jobs/s claimed and completed by 1, 2 and 4 worker processes (each `startJobWorker` with concurrency 8),
 *    against a baseline of bare SQL (one connection claiming one row with SKIP LOCKED and marking it
 *    succeeded, in a loop): first with a trivial handler (the queue's own cost), then with the real
 *    batch-embedding handler on the tiny bundle (4 inline trials per job, .npy written to a blob folder).
 * 2. Deliveries/s of the webhook dispatcher (signing, SSRF check, POST, delivery log) to a local receiver,
 *    against bare POSTs of the same bodies at the same concurrency.
 *
 * `npx tsx bench/jobs.ts`; BENCH_JOBS and BENCH_EVENTS set the counts. Worker processes run this same file
 * with `worker <database url>`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pLimit from "p-limit";
import pino from "pino";
import { openPostgres } from "../core/db/postgres.ts";
import { batchJobHandlers } from "../core/inference/batch-jobs.ts";
import { startJobWorker } from "../core/jobs/job-worker.ts";
import { startWebhookDispatcher } from "../core/jobs/webhook-dispatcher.ts";
import { LocalVectorStore } from "../core/search/embedded/local-vector-store.ts";
import { LocalBlobStore } from "../core/storage/local-blob-store.ts";
import { nodeBetasReader } from "../core/uploads/betas-reader.ts";
import { UploadStore } from "../core/uploads/upload-store.ts";
import { ModelServer } from "../gpu-worker/runtime/model-server.ts";
import { databaseBackends, TEST_POSTGRES_URL } from "../test/helpers/databases.ts";
import { TINY_BUNDLE, TINY_MODEL } from "../test/helpers/harness.ts";
import { fmt, machineLine } from "./harness.ts";

const JOBS = Number(process.env.BENCH_JOBS ?? 4000);
const EMBEDDING_JOBS = Number(process.env.BENCH_EMBEDDING_JOBS ?? 1000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 2000);
const WORKER_CONCURRENCY = 8;
const DELIVERY_CONCURRENCY = 16;

if (process.argv[2] === "worker") {
  const db = await openPostgres(process.argv[3]!, WORKER_CONCURRENCY + 2);
  const blobDir = process.argv[4]!;
  const inference = await ModelServer.open({
    bundleDirs: [TINY_BUNDLE],
    providers: ["cpu"],
    batch: { maxBatchRows: 16, maxDelayMs: 2, maxQueue: 1024 },
    log: pino({ level: "silent" }),
  });
  const embeddings = batchJobHandlers({
    inference,
    uploads: new UploadStore(db),
    blobs: new LocalBlobStore({
      root: blobDir,
      publicBaseUrl: "http://bench",
      signingSecret: "bench".repeat(8),
    }),
    vectors: new LocalVectorStore(path.join(blobDir, "indexes")),
    decodedMaxBytes: 1 << 26,
    betasReader: nodeBetasReader,
  });
  const worker = await startJobWorker({
    db,
    concurrency: WORKER_CONCURRENCY,
    handlers: { trivial: async () => ({ ok: true }), embeddings: embeddings.embeddings! },
  });
  process.on("SIGTERM", async () => {
    await worker.stop();
    await inference.close();
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

  const embeddingInputs = JSON.stringify({
    lab_id: labId,
    model: TINY_MODEL,
    betas: {
      values: Array.from({ length: 4 }, (_, t) => Array.from({ length: 40 }, (_, v) => Math.sin(t + v))),
    },
  });
  const enqueue = (n: number, kind = "trivial") =>
    db.transaction(async (tx) => {
      await tx.query(
        `insert into jobs (id, lab_id, kind, inputs)
         select 'job_' || md5(random()::text || g), $1, $3, $4::jsonb from generate_series(1, $2) g`,
        [labId, n, kind, kind === "embeddings" ? embeddingInputs : "{}"],
      );
      await tx.query("select pg_notify('mindeye_jobs', $1)", [kind]);
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

  const blobDir = await mkdtemp(path.join(os.tmpdir(), "bench-jobs-"));
  console.log("| job kind | worker processes (x8 concurrency) | jobs/s | ratio to bare SQL loop |");
  console.log("|---|---|---|---|");
  console.log(`| bare SQL claim+complete loop, 1 connection | – | ${fmt(baseline, 0)} | 1.000 |`);
  for (const [kind, count] of [
    ["trivial", JOBS],
    ["embeddings", EMBEDDING_JOBS],
  ] as const) {
    for (const processes of [1, 2, 4]) {
      const workers = await Promise.all(
        Array.from({ length: processes }, () => startWorker(url.toString(), blobDir)),
      );
      start = performance.now();
      await enqueue(count, kind);
      while ((await succeeded()) < count) await new Promise((r) => setTimeout(r, 20));
      const rate = count / ((performance.now() - start) / 1000);
      console.log(`| ${kind} | ${processes} | ${fmt(rate, 0)} | ${fmt(rate / baseline, 3)} |`);
      await Promise.all(workers.map(stopWorker));
      await db.query("delete from jobs");
    }
  }
  await rm(blobDir, { recursive: true, force: true });

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

async function startWorker(databaseUrl: string, blobDir: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", fileURLToPath(import.meta.url), "worker", databaseUrl, blobDir],
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
