/**
 * The deployed topology as processes: `mindeye api` (the Lambda app, models at WORKER_URL, no jobs) and
 * `mindeye worker` (the model server and the job runtime) on one PostgreSQL server and one S3 protocol
 * server, as a lab uses them: an upload, an async embeddings job over it, and signed webhooks. The worker
 * is SIGKILLed mid-job and started again: the job must still succeed once, announced by one webhook id.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyStore } from "../../core/auth/api-keys.ts";
import type { Database } from "../../core/db/database.ts";
import { migrate } from "../../core/db/migrate.ts";
import { openPostgres } from "../../core/db/postgres.ts";
import { type Receiver, startReceiver } from "../../core/jobs/test-support/receiver.ts";
import { encodeNpy, parseNpy } from "../../core/npy/index.ts";
import { createServerDatabase } from "../../test/helpers/databases.ts";
import { type RunningS3rver, startS3rver } from "../../test/helpers/s3rver.ts";

const MAIN = path.resolve("cli/main.ts");
const MODEL = "mindeye1-subj01-tiny";
const VOXELS = 40;
// 150 model calls of 64 trials; each waits BATCH_MAX_DELAY_MS for company that never comes, so the job
// runs for 15 s or more: time to kill the worker in the middle of it.
const TRIALS = 9600;

let database: { url: string; drop(): Promise<void> };
let db: Database;
let s3: RunningS3rver;
let receiver: Receiver;
let dataDirs: string[] = [];
const children: ChildProcess[] = [];
const apiPort = 20_000 + Math.floor(Math.random() * 20_000);
const workerPort = apiPort + 1;
const api = `http://127.0.0.1:${apiPort}`;

beforeAll(async () => {
  database = await createServerDatabase();
  db = await openPostgres(database.url);
  await migrate(db);
  s3 = await startS3rver();
  receiver = await startReceiver();
  dataDirs = await Promise.all(
    ["api", "worker"].map((p) => mkdtemp(path.join(os.tmpdir(), `mindeye-${p}-`))),
  );
});
afterAll(async () => {
  const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
  const gone = running.map(exited);
  for (const child of running) child.kill("SIGKILL");
  await Promise.all(gone);
  await receiver?.close();
  await s3?.close();
  await db?.close();
  await database?.drop();
  await Promise.all(dataDirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** What both processes share: the database, the bucket, the secret, and a webhook guard open to 127.0.0.1. */
function sharedEnv(dataDir: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    MINDEYE_DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    BLOB_STORE: `s3://${s3.bucket}/`,
    S3_ENDPOINT: s3.endpoint,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    SIGNING_SECRET: "split-topology-test-secret-of-32-chars-or-more",
    WEBHOOK_ALLOW_PRIVATE: "true",
    WEBHOOK_ALLOW_HTTP: "true",
    JOB_LEASE_SECONDS: "5",
    LOG_LEVEL: "warn",
  };
}

function start(command: "api" | "worker", env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, command], {
    env,
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(child);
  return child;
}
const startApi = () =>
  start("api", {
    ...sharedEnv(dataDirs[0]!),
    PORT: String(apiPort),
    WORKER_URL: `http://127.0.0.1:${workerPort}`,
  });
const startWorker = () =>
  start("worker", {
    ...sharedEnv(dataDirs[1]!),
    WORKER_PORT: String(workerPort),
    MODEL_BUNDLES: path.resolve("test/fixtures/bundles"),
    BATCH_MAX_SIZE: "128",
    BATCH_MAX_DELAY_MS: "100",
  });
const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

async function until<T>(probe: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

type Job = { id: string; status: string; progress: number; attempts?: number; outputs: unknown };

describe("mindeye api + mindeye worker as two processes", () => {
  it("takes an upload through an async job to a verified webhook, and survives a SIGKILL of the worker mid-job", async () => {
    const key = (await new ApiKeyStore(db).create("lab-split")).key;
    const call = (pathname: string, init: RequestInit = {}) =>
      fetch(`${api}${pathname}`, {
        ...init,
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...init.headers },
      });

    startApi();
    let worker = startWorker();
    await until(async () => ((await fetch(`${api}/readyz`)).ok ? true : undefined), 120_000, "the API ready");

    // The session: trial i is a smooth pattern over the voxels, different per trial.
    const betas = Float32Array.from({ length: TRIALS * VOXELS }, (_, n) =>
      Math.sin((n % VOXELS) * 0.3 + Math.floor(n / VOXELS) * 0.017),
    );
    const file = encodeNpy(betas, [TRIALS, VOXELS]);
    const created = await call("/v1/uploads", {
      method: "POST",
      body: JSON.stringify({
        filename: "session.npy",
        size: file.byteLength,
        content_type: "application/x-npy",
      }),
    });
    expect(created.status).toBe(201);
    const upload = (await created.json()) as {
      id: string;
      upload: { url: string; headers: Record<string, string> };
    };
    const put = await fetch(upload.upload.url, { method: "PUT", headers: upload.upload.headers, body: file });
    expect(put.status).toBe(200);
    const completed = await call(`/v1/uploads/${upload.id}/complete`, {
      method: "POST",
      body: JSON.stringify({ model: MODEL }),
    });
    expect(completed.status).toBe(200);
    expect(await completed.json()).toMatchObject({ status: "ready", shape: [TRIALS, VOXELS] });

    const { secret } = (await (await call("/v1/webhooks/secret")).json()) as { secret: string };
    const submitted = await call("/v1/embeddings", {
      method: "POST",
      headers: { prefer: "respond-async" },
      body: JSON.stringify({
        model: MODEL,
        betas: { upload_id: upload.id },
        preprocessing: { zscore: "none", scale: 1 },
        outputs: ["retrieval"],
        webhook: { url: receiver.url },
      }),
    });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as Job;

    // The worker process holds the job (its pid is in the lease owner), and is killed part-way through.
    const firstOwner = await until(
      async () => {
        const [row] = await db.query<{ lease_owner: string | null; progress: number }>(
          "select lease_owner, progress from jobs where id = $1",
          [id],
        );
        return row && row.progress > 0 ? row : undefined;
      },
      120_000,
      "the job to make progress",
    );
    expect(firstOwner.lease_owner).toContain(`:${worker.pid}:`);
    worker.kill("SIGKILL");
    await exited(worker);
    const halfway = (await (await call(`/v1/jobs/${id}`)).json()) as Job;
    expect(halfway.status).toBe("running");
    expect(halfway.progress).toBeLessThan(1);

    worker = startWorker();
    const done = await until(
      async () => {
        const job = (await (await call(`/v1/jobs/${id}`)).json()) as Job;
        return ["succeeded", "failed", "canceled", "expired"].includes(job.status) ? job : undefined;
      },
      180_000,
      "the job to finish on the restarted worker",
    );
    expect(done.status).toBe("succeeded");
    const [{ attempts, lease_owner }] = (await db.query<{ attempts: number; lease_owner: string | null }>(
      "select attempts, lease_owner from jobs where id = $1",
      [id],
    )) as [{ attempts: number; lease_owner: string | null }];
    expect(attempts).toBe(2);
    expect(lease_owner).toBeNull();

    // The output file holds every trial's embedding, equal to what the model answers for the same rows.
    const outputs = done.outputs as { trials: number; files: { retrieval: { url: string } } };
    expect(outputs.trials).toBe(TRIALS);
    const npy = parseNpy(Buffer.from(await (await fetch(outputs.files.retrieval.url)).arrayBuffer()));
    expect(npy.shape).toEqual([TRIALS, 5, 16]);
    const probe = [0, 4321, TRIALS - 1];
    const sync = await call("/v1/embeddings", {
      method: "POST",
      body: JSON.stringify({
        model: MODEL,
        betas: { values: probe.map((t) => Array.from(betas.subarray(t * VOXELS, (t + 1) * VOXELS))) },
        preprocessing: { zscore: "none", scale: 1 },
        outputs: ["retrieval"],
      }),
    });
    expect(sync.status).toBe(200);
    const expected = ((await sync.json()) as { outputs: { retrieval: { values: number[][][] } } }).outputs
      .retrieval.values;
    probe.forEach((trial, i) => {
      const row = Array.from(npy.data.subarray(trial * 80, (trial + 1) * 80));
      expected[i]!.flat().forEach((v, j) => {
        expect(row[j]).toBeCloseTo(v, 5);
      });
    });
    // A control: neighbouring trials differ, so a shifted or reordered file could not pass the check above.
    const neighbours = Array.from(npy.data.subarray(4321 * 80, 4322 * 80), (v, j) =>
      Math.abs(v - npy.data[4322 * 80 + j]!),
    );
    expect(Math.max(...neighbours)).toBeGreaterThan(1e-3);

    // One job.succeeded event (however many attempts its delivery took), one job.started, all signed.
    await until(
      async () => (receiver.received.some((r) => r.type === "job.succeeded") ? true : undefined),
      60_000,
      "the job.succeeded webhook",
    );
    const verifier = new Webhook(secret);
    for (const hook of receiver.received) {
      expect(() => verifier.verify(hook.body, hook.headers)).not.toThrow();
      expect((JSON.parse(hook.body) as { data: { id: string } }).data.id).toBe(id);
    }
    const tampered = receiver.received[0]!;
    expect(() => verifier.verify(tampered.body.replace(id, "job_other"), tampered.headers)).toThrow();
    const succeeded = receiver.received.filter((r) => r.type === "job.succeeded");
    expect(new Set(succeeded.map((r) => r.headers["webhook-id"])).size).toBe(1);
    expect(receiver.received.filter((r) => r.type === "job.started")).toHaveLength(1);

    // Both stop cleanly on SIGTERM.
    const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
    expect(running).toHaveLength(2);
    const codes = running.map(exited);
    for (const child of running) child.kill("SIGTERM");
    expect(await Promise.all(codes)).toEqual([0, 0]);
  }, 600_000);
});

describe("a half-configured split topology fails at start, saying what is missing", () => {
  const run = (command: string, env: NodeJS.ProcessEnv) =>
    promisify(execFile)(process.execPath, ["--import", "tsx", MAIN, command], { env }).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => error,
    );

  it("mindeye api without WORKER_URL: it has no models and runs no jobs of its own", async () => {
    const failed = await run("api", sharedEnv(dataDirs[0]!));
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/needs WORKER_URL/);
  }, 60_000);

  it("mindeye worker with DATABASE_URL but no BLOB_STORE: its jobs could not read the API's uploads", async () => {
    const { BLOB_STORE: _, ...env } = sharedEnv(dataDirs[1]!);
    const failed = await run("worker", env);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/BLOB_STORE is missing/);
  }, 60_000);
});
