import type { JobRecord, JobStatus, WebhookEventType } from "../contracts/jobs.ts";

/** A row of `jobs` joined with its webhook subscription, as every job query selects it. */
export interface JobRow {
  id: string;
  lab_id: string;
  kind: string;
  inputs: unknown;
  params: Record<string, unknown>;
  status: JobStatus;
  progress: number;
  progress_message: string | null;
  progress_detail: Record<string, unknown> | null;
  progress_event_at: Date | null;
  created_at: Date;
  /** created_at in microseconds since the epoch: Date keeps only milliseconds, cursors need all of it. */
  created_us: number;
  started_at: Date | null;
  completed_at: Date | null;
  outputs: unknown;
  error: JobRecord["error"];
  attempts: number;
  max_attempts: number;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  deadline: Date | null;
  cancel_requested: boolean;
  /** Set when the inputs were too large for the row: `inputs` is then a stub (job-inputs.ts). */
  inputs_blob: string | null;
  now: Date;
  webhook_url: string | null;
  webhook_events: WebhookEventType[] | null;
  webhook_disabled_at: Date | null;
}

/** Select list for `from jobs j left join job_webhooks w on w.job_id = j.id`. */
export const JOB_COLUMNS = `j.id, j.lab_id, j.kind, j.inputs, j.params, j.status, j.progress, j.progress_message,
  j.progress_detail, j.progress_event_at, j.created_at, (extract(epoch from j.created_at) * 1000000)::int8 as created_us,
  j.started_at, j.completed_at, j.outputs, j.error, j.attempts, j.max_attempts, j.lease_owner,
  j.lease_expires_at, j.deadline, j.cancel_requested, j.inputs_blob, now() as now,
  w.url as webhook_url, w.events as webhook_events, w.disabled_at as webhook_disabled_at`;

/** The same without the inputs (up to 64 KiB inline), for listings and watchers that never show them. */
export const JOB_COLUMNS_WITHOUT_INPUTS = JOB_COLUMNS.replace("j.inputs,", "null as inputs,");

export const JOB_FROM = "jobs j left join job_webhooks w on w.job_id = j.id";

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const seconds = (from: Date, to: Date) => Math.max(0, (to.getTime() - from.getTime()) / 1000);

/** The wire shape of a job (GET /v1/jobs/{id} and every webhook's `data`). */
export function toJobRecord(row: JobRow): JobRecord {
  const end = row.completed_at ?? row.now;
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    progress: row.progress,
    progress_message: row.progress_message,
    progress_detail: row.progress_detail ?? null,
    created_at: row.created_at.toISOString(),
    started_at: iso(row.started_at),
    completed_at: iso(row.completed_at),
    deadline: iso(row.deadline),
    cancel_requested: row.cancel_requested,
    attempts: row.attempts,
    max_attempts: row.max_attempts,
    metrics: {
      queue_time: seconds(row.created_at, row.started_at ?? end),
      run_time: row.started_at ? seconds(row.started_at, end) : null,
    },
    inputs: row.inputs,
    params: row.params,
    outputs: row.outputs ?? null,
    error: row.error ?? null,
    webhook: row.webhook_url
      ? {
          url: row.webhook_url,
          events: row.webhook_events ?? [],
          disabled_at: iso(row.webhook_disabled_at),
        }
      : null,
  };
}
