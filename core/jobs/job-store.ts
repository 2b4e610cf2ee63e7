import { ApiError } from "../contracts/errors.ts";
import {
  type JobListQuery,
  type JobRecord,
  type JobStatus,
  WEBHOOK_EVENT_TYPES,
  type WebhookSubscriptionInput,
} from "../contracts/jobs.ts";
import type { Database, Sql } from "../db/database.ts";
import { newId } from "../ids.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { decodeJobCursor, encodeJobCursor } from "./job-cursor.ts";
import { placeJobInputs } from "./job-inputs.ts";
import { JOB_COLUMNS, JOB_COLUMNS_WITHOUT_INPUTS, JOB_FROM, type JobRow, toJobRecord } from "./job-record.ts";
import { enqueueJobEvent } from "./webhook-outbox.ts";
import { checkWebhookUrl, type WebhookUrlPolicy } from "./webhook-url-guard.ts";

/** Idle workers LISTEN here; a NOTIFY is delivered only when the creating transaction commits. */
export const JOBS_CHANNEL = "mindeye_jobs";

export interface NewJob {
  labId: string;
  kind: string;
  inputs: unknown;
  params?: Record<string, unknown>;
  /** Attempts before the job fails for good (a crashed worker or an unexpected error uses one). */
  maxAttempts?: number;
  /** Not finished by then: the job becomes `expired` instead of starting or running late. */
  deadline?: Date;
  webhook?: WebhookSubscriptionInput;
}

/** What a watcher compares between polls: a few bytes, however large the job. */
export interface JobState {
  status: JobStatus;
  progress: number;
  progress_message: string | null;
  progress_detail: Record<string, unknown> | null;
}

export interface JobPage {
  /** Without inputs: a page of jobs must stay small. */
  data: Omit<JobRecord, "inputs">[];
  next_cursor: string | null;
}

/** The API's side of jobs: create, read, list and cancel. Every call takes the lab that owns the job. */
export class JobStore {
  /** Without `blobs`, inputs of any size stay in the row (tests of the queue alone). */
  constructor(
    private readonly db: Database,
    private readonly webhookPolicy: WebhookUrlPolicy,
    private readonly blobs?: BlobStore,
  ) {}

  /**
   * Inserts a queued job and its webhook subscription. Pass `tx` to make it part of a larger transaction
   * (an idempotent request's record); without it the job commits on its own.
   */
  async create(job: NewJob, tx?: Sql): Promise<JobRecord> {
    if (job.webhook) await checkWebhookUrl(job.webhook.url, this.webhookPolicy);
    if (!tx) return this.db.transaction((own) => this.create(job, own));
    const id = newId("job");
    const inputs = await placeJobInputs(this.blobs, job.labId, id, job.inputs);
    await tx.query(
      `insert into jobs (id, lab_id, kind, inputs, inputs_blob, params, max_attempts, deadline)
       values ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        id,
        job.labId,
        job.kind,
        inputs.inline,
        inputs.blobKey,
        JSON.stringify(job.params ?? {}),
        job.maxAttempts ?? 3,
        job.deadline ?? null,
      ],
    );
    if (job.webhook) {
      await tx.query("insert into job_webhooks (job_id, lab_id, url, events) values ($1, $2, $3, $4)", [
        id,
        job.labId,
        job.webhook.url,
        job.webhook.events ?? [...WEBHOOK_EVENT_TYPES],
      ]);
    }
    await tx.query("select pg_notify($1, $2)", [JOBS_CHANNEL, job.kind]);
    return toJobRecord(await selectJob(tx, job.labId, id));
  }

  async get(labId: string, id: string): Promise<JobRecord> {
    return toJobRecord(await selectJob(this.db, labId, id));
  }

  /** The job without its inputs, for watchers and event streams. */
  async getWithoutInputs(labId: string, id: string): Promise<Omit<JobRecord, "inputs">> {
    const { inputs: _inputs, ...job } = toJobRecord(await selectJob(this.db, labId, id, "", false));
    return job;
  }

  /** Status and progress only: what a watcher polls, so polling costs a few bytes a time. */
  async state(labId: string, id: string): Promise<JobState> {
    const [row] = await this.db.query<JobState>(
      "select status, progress, progress_message, progress_detail from jobs where id = $1 and lab_id = $2",
      [id, labId],
    );
    if (!row) throw jobNotFound(id);
    return row;
  }

  /** Newest first, optionally of one status; `next_cursor` continues after the last job returned. */
  async list(
    labId: string,
    query: Pick<JobListQuery, "status" | "cursor"> & { limit: number },
  ): Promise<JobPage> {
    const after = query.cursor ? decodeJobCursor(query.cursor) : null;
    const rows = await this.db.query<JobRow>(
      `select ${JOB_COLUMNS_WITHOUT_INPUTS} from ${JOB_FROM}
        where j.lab_id = $1 and ($2::text is null or j.status = $2)
          and ($3::int8 is null or (j.created_at, j.id) < (timestamptz 'epoch' + $3 * interval '1 microsecond', $4))
        order by j.created_at desc, j.id desc limit $5`,
      [labId, query.status ?? null, after?.createdUs ?? null, after?.id ?? null, query.limit + 1],
    );
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      data: page.map((row) => {
        const { inputs: _inputs, ...job } = toJobRecord(row);
        return job;
      }),
      next_cursor: rows.length > query.limit && last ? encodeJobCursor(last.created_us, last.id) : null,
    };
  }

  /** Jobs of the lab whose inputs name `uploadId` (uploads are referenced by id in small inline inputs). */
  async derivedFrom(labId: string, uploadId: string): Promise<{ id: string; status: JobStatus }[]> {
    return this.db.query(
      "select id, status from jobs where lab_id = $1 and inputs_blob is null and strpos(inputs::text, $2) > 0",
      [labId, JSON.stringify(uploadId)],
    );
  }

  /**
   * The files of a finished job that `erase` will forget; a queued or running one cannot be erased (its
   * worker could still write), so cancel it first.
   */
  async filesToErase(labId: string, id: string): Promise<JobFiles> {
    const job = await selectJob(this.db, labId, id);
    if (job.status === "queued" || job.status === "running") {
      throw new ApiError(
        "conflict",
        `Job ${id} is ${job.status}; cancel it (POST /v1/jobs/${id}/cancel) and delete it once it has stopped.`,
        { fields: { status: job.status } },
      );
    }
    const files = (job.outputs as { files?: Record<string, { key?: unknown }> } | null)?.files ?? {};
    const outputKeys = Object.values(files).flatMap((f) => (typeof f?.key === "string" ? [f.key] : []));
    return { inputsBlob: job.inputs_blob, outputKeys };
  }

  /** Deletes the job's row with its webhook subscription, events and delivery log (after its files). */
  async erase(labId: string, id: string): Promise<void> {
    const rows = await this.db.query(
      "delete from jobs where id = $1 and lab_id = $2 and status not in ('queued', 'running') returning 1",
      [id, labId],
    );
    if (rows.length === 0) throw jobNotFound(id);
  }

  /**
   * A queued job is canceled at once; a running one is flagged, and its worker stops at its next
   * heartbeat or progress report. Canceling a canceled job returns it; other finished jobs cannot be.
   */
  async cancel(labId: string, id: string): Promise<JobRecord> {
    return this.db.transaction(async (tx) => {
      const job = await selectJob(tx, labId, id, "for update of j");
      const finished: JobStatus[] = ["succeeded", "failed", "expired"];
      if (finished.includes(job.status)) {
        throw new ApiError(
          "job_not_cancelable",
          `Job ${id} already ${job.status}; only queued or running jobs can be canceled.`,
          {
            fields: { status: job.status },
          },
        );
      }
      if (job.status === "canceled") return toJobRecord(job);
      if (job.status === "running") {
        await tx.query("update jobs set cancel_requested = true where id = $1 and lab_id = $2", [id, labId]);
        return toJobRecord(await selectJob(tx, labId, id));
      }
      const [canceled] = await tx.query<JobRow>(
        `with j as (update jobs set status = 'canceled', cancel_requested = true, completed_at = now(),
                      lease_owner = null, lease_expires_at = null
                     where id = $1 and lab_id = $2 returning *)
         select ${JOB_COLUMNS} from j left join job_webhooks w on w.job_id = j.id`,
        [id, labId],
      );
      await enqueueJobEvent(tx, canceled!, "job.canceled");
      return toJobRecord(canceled!);
    });
  }
}

/** A finished job's stored files, for erasure. */
export interface JobFiles {
  inputsBlob: string | null;
  outputKeys: string[];
}

async function selectJob(sql: Sql, labId: string, id: string, lock = "", withInputs = true): Promise<JobRow> {
  const columns = withInputs ? JOB_COLUMNS : JOB_COLUMNS_WITHOUT_INPUTS;
  const [row] = await sql.query<JobRow>(
    `select ${columns} from ${JOB_FROM} where j.id = $1 and j.lab_id = $2 ${lock}`,
    [id, labId],
  );
  if (!row) throw jobNotFound(id);
  return row;
}

const jobNotFound = (id: string) =>
  new ApiError("not_found", `No job ${id} in your lab. Check the id returned when you created it.`);
