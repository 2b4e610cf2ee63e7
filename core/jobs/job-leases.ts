import { ERROR_CODES, type Problem } from "../contracts/errors.ts";
import type { WebhookEventType } from "../contracts/jobs.ts";
import type { Database } from "../db/database.ts";
import { JOB_COLUMNS, type JobRow } from "./job-record.ts";
import { enqueueJobEvent } from "./webhook-outbox.ts";

/** A claimed job, held by `owner` until the lease expires unless renewed. */
export interface Lease {
  jobId: string;
  labId: string;
  owner: string;
}

/** What a heartbeat or progress report learns: keep going, stop because canceled, or stop because the lease is gone. */
export type LeaseState = "held" | "cancel_requested" | "lost";

/** At most one job.progress event per this interval (and only when the progress changed). */
export const PROGRESS_EVENT_INTERVAL_MS = 2000;

const ms = (param: string) => `${param} * interval '1 millisecond'`;
const OWNED = "j.id = $1 and j.lab_id = $2 and j.lease_owner = $3 and j.status = 'running'";
/** The advisory lock every claim holds for its transaction (an arbitrary constant, ours alone). */
const CLAIM_LOCK = 0x6d696e64;
/** Jobs a worker for `$2` (kinds) may take: queued and due, or running on a lease that expired. */
const CLAIMABLE = `j.kind = any($2::text[]) and (j.deadline is null or j.deadline > now())
  and ((j.status = 'queued' and j.run_after <= now())
    or (j.status = 'running' and j.lease_expires_at < now() and j.attempts < j.max_attempts
        and not j.cancel_requested))`;
const RETRYING = "$5::int8 is not null and j.attempts < j.max_attempts";

/**
 * The worker's side of jobs: claim with a lease, renew it, report progress, and finish. Every state change
 * writes its webhook event in the same transaction.
 */
export class JobLeases {
  constructor(private readonly db: Database) {}

  /**
   * Claims up to `limit` jobs of `kinds`: queued ones whose retry delay has passed, and running ones whose
   * lease expired (their worker died) with attempts left. Queued jobs go to the labs with the fewest
   * running first (round-robin: every lab's oldest, then every lab's second, ...), each lab's oldest first,
   * and never so many that a lab has more than `maxRunningPerLab` running. Claims take one advisory lock,
   * so two workers cannot both fill a lab's last slot; the transaction takes a few milliseconds.
   */
  async claim(
    owner: string,
    kinds: readonly string[],
    limit: number,
    leaseMs: number,
    maxRunningPerLab: number | null = null,
  ): Promise<JobRow[]> {
    return this.db.transaction(async (tx) => {
      await tx.query("select pg_advisory_xact_lock($1)", [CLAIM_LOCK]);
      const rows = await tx.query<JobRow>(
        `with running as (
           select lab_id, count(*)::int as n from jobs where status = 'running' group by lab_id),
         candidates as (
           select j.id, j.status, j.created_at,
                  -- The lab's running jobs if this one ran too: labs with fewer running go first.
                  coalesce(r.n, 0) + row_number() over (partition by j.lab_id, j.status
                                                        order by j.created_at, j.id) as lab_share
             from jobs j left join running r on r.lab_id = j.lab_id
            where ${CLAIMABLE}),
         next as (
           select id from jobs j where ${CLAIMABLE} and id in (
             select id from candidates
              -- A re-claim replaces a running job, so it is already counted against its lab.
              where status = 'running' or $5::int is null or lab_share <= $5::int
              order by case when status = 'running' then 0 else lab_share end, created_at, id limit $3)
           for update skip locked),
         j as (
           update jobs set status = 'running', attempts = jobs.attempts + 1, lease_owner = $1,
                  lease_expires_at = now() + ${ms("$4")}, started_at = coalesce(jobs.started_at, now())
             from next where jobs.id = next.id returning jobs.*)
         select ${JOB_COLUMNS} from j left join job_webhooks w on w.job_id = j.id order by j.created_at, j.id`,
        [owner, kinds, limit, leaseMs, maxRunningPerLab],
      );
      for (const row of rows) {
        // started_at = now() only on the first start: a re-claim after a crash is not announced again.
        if (row.started_at?.getTime() === row.now.getTime()) await enqueueJobEvent(tx, row, "job.started");
      }
      return rows;
    });
  }

  /** Renews the lease and reports whether the job was canceled meanwhile or the lease lost. */
  async heartbeat(lease: Lease, leaseMs: number): Promise<LeaseState> {
    const [row] = await this.db.query<{ cancel_requested: boolean }>(
      `update jobs j set lease_expires_at = now() + ${ms("$4")} where ${OWNED} returning j.cancel_requested`,
      [lease.jobId, lease.labId, lease.owner, leaseMs],
    );
    return stateOf(row);
  }

  /**
   * Records progress (0..1), its message and structured detail, and renews the lease; announces it at most
   * every PROGRESS_EVENT_INTERVAL_MS. Progress never goes back: an attempt after a re-claim that starts
   * over reports less than its predecessor reached, and the job keeps the furthest point (with its message
   * and detail) until it passes it.
   */
  async progress(
    lease: Lease,
    fraction: number,
    message: string | null,
    leaseMs: number,
    detail: Record<string, unknown> | null = null,
  ): Promise<LeaseState> {
    const clamped = Math.min(1, Math.max(0, fraction));
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<JobRow & { announce: boolean }>(
        `with old as (select j.id, j.progress, j.progress_message, j.progress_detail, j.progress_event_at
                        from jobs j where ${OWNED} for update),
              j as (update jobs set progress = greatest(old.progress, $4),
                      progress_message = case when $4 >= old.progress then $5 else old.progress_message end,
                      progress_detail = case when $4 >= old.progress then $8::jsonb else old.progress_detail end,
                      lease_expires_at = now() + ${ms("$6")},
                      progress_event_at = case
                        when ($4 > old.progress or ($4 = old.progress and (old.progress_message is distinct from $5
                                                      or old.progress_detail is distinct from $8::jsonb)))
                         and (old.progress_event_at is null or old.progress_event_at <= now() - ${ms("$7")})
                        then now() else old.progress_event_at end
                      from old where jobs.id = old.id
                      returning jobs.*, jobs.progress_event_at is not distinct from now() as announce)
         select ${JOB_COLUMNS}, j.announce from j left join job_webhooks w on w.job_id = j.id`,
        [
          lease.jobId,
          lease.labId,
          lease.owner,
          clamped,
          message,
          leaseMs,
          PROGRESS_EVENT_INTERVAL_MS,
          detail === null ? null : JSON.stringify(detail),
        ],
      );
      if (row?.announce) await enqueueJobEvent(tx, row, "job.progress");
      return stateOf(row);
    });
  }

  /**
   * Stores what a running job has finished so far as its outputs (a reconstruction's done inputs), so a
   * lab sees them before the job ends and a job that stops part-way keeps them; renews nothing.
   */
  async saveOutputs(lease: Lease, outputs: unknown): Promise<LeaseState> {
    const [row] = await this.db.query<{ cancel_requested: boolean }>(
      `update jobs j set outputs = $4 where ${OWNED} returning j.cancel_requested`,
      [lease.jobId, lease.labId, lease.owner, JSON.stringify(outputs ?? null)],
    );
    return stateOf(row);
  }

  /** Stores the outputs and marks the job succeeded; false when the lease was lost (another worker has it). */
  async succeed(lease: Lease, outputs: unknown): Promise<boolean> {
    return this.finish(
      lease,
      "job.succeeded",
      "status = 'succeeded', outputs = $4, progress = 1, error = null",
      [JSON.stringify(outputs ?? null)],
    );
  }

  async markCanceled(lease: Lease): Promise<boolean> {
    return this.finish(lease, "job.canceled", "status = 'canceled'", []);
  }

  /** Marks a job its worker stopped at its deadline `expired`, with a deadline_exceeded error. */
  async markExpired(lease: Lease, deadline: Date): Promise<boolean> {
    const problem = deadlineProblem(`The job was still running at its deadline (${deadline.toISOString()})`);
    return this.finish(lease, "job.expired", "status = 'expired', error = $4", [JSON.stringify(problem)]);
  }

  /**
   * Records a failed attempt. With `retryAfterMs` and attempts left, the job is queued again after that
   * delay (its error shows the last failure); otherwise it fails for good.
   */
  async fail(
    lease: Lease,
    problem: Problem,
    retryAfterMs: number | null,
  ): Promise<"retrying" | "failed" | "lost"> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<JobRow>(
        `with j as (update jobs j set error = $4, lease_owner = null, lease_expires_at = null,
                      status = case when ${RETRYING} then 'queued' else 'failed' end,
                      completed_at = case when ${RETRYING} then null else now() end,
                      run_after = now() + coalesce($5::int8, 0) * interval '1 millisecond'
                     where ${OWNED} returning j.*)
         select ${JOB_COLUMNS} from j left join job_webhooks w on w.job_id = j.id`,
        [lease.jobId, lease.labId, lease.owner, JSON.stringify(problem), retryAfterMs],
      );
      if (!row) return "lost";
      if (row.status === "queued") return "retrying";
      await enqueueJobEvent(tx, row, "job.failed");
      return "failed";
    });
  }

  /** Gives a job back on a graceful stop, without using up an attempt. */
  async release(lease: Lease): Promise<void> {
    await this.db.query(
      `update jobs j set status = 'queued', attempts = j.attempts - 1, lease_owner = null, lease_expires_at = null
        where ${OWNED}`,
      [lease.jobId, lease.labId, lease.owner],
    );
  }

  /**
   * Settles jobs nobody will run: queued past their deadline, or running past it on a lost lease
   * (`expired`), and those whose worker died after a cancel request (`canceled`) or on their last attempt
   * (`failed`). Workers call it as they poll.
   */
  async sweep(): Promise<number> {
    return this.db.transaction(async (tx) => {
      const lost: Problem = {
        type: "urn:mindeye:problem:internal_error",
        title: ERROR_CODES.internal_error.title,
        status: 500,
        code: "internal_error",
        detail:
          "The worker running this job stopped responding on every attempt. Submit it again; if it keeps failing, contact the operators.",
      };
      const late = deadlineProblem("The job was not finished by its deadline");
      const rows = await tx.query<JobRow>(
        `with due as (
           select id from jobs
            where (status = 'queued' and deadline <= now())
               or (status = 'running' and lease_expires_at < now()
                   and (cancel_requested or attempts >= max_attempts or deadline <= now()))
            for update skip locked),
         j as (
           update jobs set completed_at = now(), lease_owner = null, lease_expires_at = null,
                  status = case when jobs.cancel_requested and jobs.status = 'running' then 'canceled'
                                when jobs.deadline <= now() then 'expired' else 'failed' end,
                  error = case when jobs.cancel_requested and jobs.status = 'running' then jobs.error
                               when jobs.deadline <= now() then $2::jsonb else $1::jsonb end
             from due where jobs.id = due.id returning jobs.*)
         select ${JOB_COLUMNS} from j left join job_webhooks w on w.job_id = j.id`,
        [JSON.stringify(lost), JSON.stringify(late)],
      );
      for (const row of rows) await enqueueJobEvent(tx, row, `job.${row.status}` as WebhookEventType);
      return rows.length;
    });
  }

  private async finish(
    lease: Lease,
    event: WebhookEventType,
    set: string,
    params: unknown[],
  ): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<JobRow>(
        `with j as (update jobs j set ${set}, completed_at = now(), lease_owner = null, lease_expires_at = null
                     where ${OWNED} returning j.*)
         select ${JOB_COLUMNS} from j left join job_webhooks w on w.job_id = j.id`,
        [lease.jobId, lease.labId, lease.owner, ...params],
      );
      if (row) await enqueueJobEvent(tx, row, event);
      return Boolean(row);
    });
  }
}

/** The error of an expired job; `detail` says what happened, this says what to do. */
function deadlineProblem(what: string): Problem {
  return {
    type: "urn:mindeye:problem:deadline_exceeded",
    title: ERROR_CODES.deadline_exceeded.title,
    status: ERROR_CODES.deadline_exceeded.status,
    code: "deadline_exceeded",
    detail: `${what}. Submit it again with a later deadline (deadline_seconds), or fewer inputs.`,
  };
}

function stateOf(row: { cancel_requested: boolean } | undefined): LeaseState {
  if (!row) return "lost";
  return row.cancel_requested ? "cancel_requested" : "held";
}
