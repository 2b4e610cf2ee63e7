import { ApiError } from "../contracts/errors.ts";
import type { WebhookDelivery, WebhookEventType } from "../contracts/jobs.ts";
import type { Database } from "../db/database.ts";
import { WEBHOOKS_CHANNEL } from "./webhook-outbox.ts";

interface DeliveryRow {
  id: string;
  event_id: string;
  event_type: WebhookEventType;
  event_status: WebhookDelivery["event_status"];
  attempt: number;
  url: string;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  created_at: Date;
}

/** The delivery log of a lab's jobs, and redelivery of one event. */
export class WebhookDeliveries {
  constructor(private readonly db: Database) {}

  /** Every attempt for the job's events, oldest first. */
  async listForJob(labId: string, jobId: string): Promise<WebhookDelivery[]> {
    await this.assertJob(labId, jobId);
    const rows = await this.db.query<DeliveryRow>(
      `select d.id, d.event_id, e.type as event_type, e.status as event_status, d.attempt, d.url,
              d.status_code, d.duration_ms, d.error, d.created_at
         from webhook_deliveries d join webhook_events e on e.id = d.event_id
        where d.lab_id = $1 and d.job_id = $2 order by d.created_at, d.attempt`,
      [labId, jobId],
    );
    return rows.map((r) => ({ ...r, created_at: r.created_at.toISOString() }));
  }

  /**
   * Sends an event again, with the same webhook-id and body and a fresh retry schedule; re-enables the
   * job's subscription if a 410 had disabled it (the lab asking again means the receiver is back).
   */
  async redeliver(labId: string, jobId: string, eventId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const [event] = await tx.query(
        `update webhook_events set status = 'pending', retry_step = 0, next_attempt_at = now()
          where id = $1 and lab_id = $2 and job_id = $3 returning id`,
        [eventId, labId, jobId],
      );
      if (!event)
        throw new ApiError("not_found", `No webhook event ${eventId} for job ${jobId} in your lab.`);
      await tx.query(
        "update job_webhooks set disabled_at = null, disabled_reason = null where job_id = $1 and lab_id = $2",
        [jobId, labId],
      );
      await tx.query("select pg_notify($1, $2)", [WEBHOOKS_CHANNEL, eventId]);
    });
  }

  private async assertJob(labId: string, jobId: string): Promise<void> {
    const [job] = await this.db.query("select 1 from jobs where id = $1 and lab_id = $2", [jobId, labId]);
    if (!job)
      throw new ApiError(
        "not_found",
        `No job ${jobId} in your lab. Check the id returned when you created it.`,
      );
  }
}
