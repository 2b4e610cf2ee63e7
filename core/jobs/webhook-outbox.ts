import { type WebhookEvent, type WebhookEventType, webhookEventSchema } from "../contracts/jobs.ts";
import type { Sql } from "../db/database.ts";
import { newId } from "../ids.ts";
import { type JobRow, toJobRecord } from "./job-record.ts";

/** Dispatchers LISTEN here; a NOTIFY is delivered only when the enqueuing transaction commits. */
export const WEBHOOKS_CHANNEL = "mindeye_webhooks";

/**
 * Writes the event announcing `row`'s new state to the outbox, in the caller's transaction, when the job
 * has an enabled subscription to that event type. Returns the event id (the webhook-id), if one was written.
 */
export async function enqueueJobEvent(tx: Sql, row: JobRow, type: WebhookEventType): Promise<string | null> {
  if (!row.webhook_url || row.webhook_disabled_at || !row.webhook_events?.includes(type)) return null;
  const id = newId("evt");
  const event: WebhookEvent = {
    type,
    timestamp: row.now.toISOString(),
    data: webhookEventSchema.shape.data.parse(toJobRecord(row)),
  };
  await tx.query(
    "insert into webhook_events (id, lab_id, job_id, type, payload) values ($1, $2, $3, $4, $5)",
    [id, row.lab_id, row.id, type, JSON.stringify(event)],
  );
  await tx.query("select pg_notify($1, $2)", [WEBHOOKS_CHANNEL, id]);
  return id;
}
