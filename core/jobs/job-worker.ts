import { randomBytes } from "node:crypto";
import os from "node:os";
import { ApiError, problemOf } from "../contracts/errors.ts";
import type { JobRecord } from "../contracts/jobs.ts";
import type { Database } from "../db/database.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { startClaimLoop } from "./claim-loop.ts";
import { IdempotencyStore } from "./idempotency.ts";
import { loadJobInputs } from "./job-inputs.ts";
import { JobLeases, type Lease, type LeaseState } from "./job-leases.ts";
import { type JobRow, toJobRecord } from "./job-record.ts";
import { JOBS_CHANNEL } from "./job-store.ts";
import { type Log, silentLog } from "./log.ts";

export interface JobContext {
  /**
   * Reports progress (0..1, clamped), with a message and structured detail, and renews the lease; a cancel
   * or a lost lease then aborts `signal`.
   */
  progress(fraction: number, message?: string, detail?: Record<string, unknown>): Promise<void>;
  /** Stores what is finished so far as the job's outputs, visible while it runs and kept if it stops. */
  saveOutputs(outputs: unknown): Promise<void>;
  /**
   * Aborted when the job is canceled, reaches its deadline, its lease is lost, or the worker stops; stop
   * work when it fires.
   */
  signal: AbortSignal;
  /** 1 on the first attempt. */
  attempt: number;
}

/** Runs one job and returns its outputs (small JSON, e.g. blob keys). ApiError 4xx fails it without retry. */
export type JobHandler = (job: JobRecord, ctx: JobContext) => Promise<unknown>;

export interface JobWorkerOptions {
  db: Database;
  /** Where large inputs live (job-inputs.ts); the same store the API's JobStore writes them to. */
  blobs?: BlobStore;
  handlers: Record<string, JobHandler>;
  /** Jobs run at once by this worker. */
  concurrency?: number;
  /** Jobs of one lab running at once over every worker; unset: no cap. */
  maxRunningPerLab?: number;
  /** How long a claim lasts without a heartbeat; a worker that dies is replaced after this. */
  leaseMs?: number;
  /** Polling interval, the fallback when no NOTIFY arrives (and how often dead workers' jobs are swept). */
  pollMs?: number;
  /** Delay before attempt n+1 after attempt n failed with an unexpected error. */
  retryDelayMs?: (attempt: number) => number;
  workerId?: string;
  log?: Log;
}

export interface JobWorker {
  readonly id: string;
  /** Stops claiming, lets running jobs finish for up to `graceMs`, then aborts and releases the rest. */
  stop(options?: { graceMs?: number }): Promise<void>;
}

const defaultRetryDelay = (attempt: number) => Math.min(60_000, 1000 * 2 ** (attempt - 1));

type RunState = LeaseState | "released" | "expired";

// setTimeout fires at once past 2^31 - 1 ms; a farther deadline is waited for in such slices.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Claims jobs of the kinds in `handlers`, runs them with heartbeats and writes their outcome. */
export async function startJobWorker(options: JobWorkerOptions): Promise<JobWorker> {
  const { db, handlers } = options;
  const leaseMs = options.leaseMs ?? 30_000;
  const pollMs = options.pollMs ?? 1000;
  const retryDelay = options.retryDelayMs ?? defaultRetryDelay;
  const log = options.log ?? silentLog;
  const id = options.workerId ?? `${os.hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  const kinds = Object.keys(handlers);
  const leases = new JobLeases(db);
  // Jobs in hand, so a stop past its grace period can abort and release them.
  const running = new Map<string, { lease: Lease; stopWith: (state: RunState) => void }>();
  const idempotency = new IdempotencyStore(db);
  let lastSweep = 0;
  let lastPrune = 0;

  async function run(row: JobRow): Promise<void> {
    const lease: Lease = { jobId: row.id, labId: row.lab_id, owner: id };
    const controller = new AbortController();
    let state: RunState = "held";
    // Read through a function: TypeScript would keep `state` narrowed across the awaits that change it.
    const current = (): RunState => state;
    const stopWith = (next: RunState) => {
      if (next === "held" || state !== "held") return;
      state = next;
      controller.abort(new Error(`job ${row.id}: ${next}`));
    };
    const heartbeat = setInterval(() => {
      leases
        .heartbeat(lease, leaseMs)
        .then(stopWith, (error) => log.warn({ err: error, job: row.id }, "heartbeat failed"));
    }, leaseMs / 3);
    let deadlineTimer: NodeJS.Timeout | undefined;
    const watchDeadline = (deadline: Date) => {
      const left = deadline.getTime() - Date.now();
      if (left <= 0) return stopWith("expired");
      deadlineTimer = setTimeout(() => watchDeadline(deadline), Math.min(left, MAX_TIMER_MS));
    };
    if (row.deadline) watchDeadline(row.deadline);
    const ctx: JobContext = {
      signal: controller.signal,
      attempt: row.attempts,
      progress: async (fraction, message, detail) =>
        stopWith(await leases.progress(lease, fraction, message ?? null, leaseMs, detail ?? null)),
      saveOutputs: async (outputs) => stopWith(await leases.saveOutputs(lease, outputs)),
    };
    const stopTimers = () => {
      clearInterval(heartbeat);
      clearTimeout(deadlineTimer);
    };
    running.set(row.id, { lease, stopWith });
    try {
      const job = { ...toJobRecord(row), inputs: await loadJobInputs(options.blobs, row) };
      const outputs = await handlers[row.kind]!(job, ctx);
      stopTimers();
      // A job that finished its work as its deadline passed has its outputs: it succeeded.
      if (current() === "held" || current() === "expired") await leases.succeed(lease, outputs);
      else if (current() === "cancel_requested") await leases.markCanceled(lease);
    } catch (error) {
      stopTimers();
      if (current() === "cancel_requested") await leases.markCanceled(lease);
      else if (current() === "expired") await leases.markExpired(lease, row.deadline!);
      else if (current() === "held") await recordFailure(lease, row, error);
    } finally {
      stopTimers();
      running.delete(row.id);
    }
  }

  async function recordFailure(lease: Lease, row: JobRow, error: unknown): Promise<void> {
    const final = error instanceof ApiError && error.status < 500;
    const problem = problemOf(
      error instanceof ApiError
        ? error
        : new ApiError(
            "internal_error",
            `The job failed: ${error instanceof Error ? error.message : String(error)}`,
          ),
    );
    const outcome = await leases.fail(lease, problem, final ? null : retryDelay(row.attempts));
    log.warn({ err: error, job: row.id, attempt: row.attempts, outcome }, "job attempt failed");
  }

  const loop = await startClaimLoop<JobRow>({
    db,
    channel: JOBS_CHANNEL,
    pollMs,
    concurrency: options.concurrency ?? 1,
    log,
    async claim(free) {
      // Housekeeping rides on the claim loop: every worker does it, so no extra process is needed.
      if (Date.now() - lastSweep >= pollMs) {
        lastSweep = Date.now();
        await leases.sweep();
      }
      if (Date.now() - lastPrune >= 60_000) {
        lastPrune = Date.now();
        await idempotency.prune();
      }
      return leases.claim(id, kinds, free, leaseMs, options.maxRunningPerLab ?? null);
    },
    handle: run,
  });
  log.info({ worker: id, kinds }, "job worker started");

  return {
    id,
    async stop({ graceMs = leaseMs } = {}) {
      await loop.stop();
      const inTime = await Promise.race([
        loop.settled().then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), graceMs).unref()),
      ]);
      if (!inTime) {
        const rest = [...running.values()];
        for (const job of rest) job.stopWith("released");
        await Promise.all(rest.map((job) => leases.release(job.lease)));
      }
      log.info({ worker: id, released: !inTime }, "job worker stopped");
    },
  };
}
