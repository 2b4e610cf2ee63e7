import { ApiError } from "../contracts/errors.ts";
import type { Database } from "../db/database.ts";
import { newId } from "../ids.ts";
import { startClaimLoop } from "./claim-loop.ts";
import { type Log, silentLog } from "./log.ts";
import { WEBHOOKS_CHANNEL } from "./webhook-outbox.ts";
import { postWebhook, type WebhookResponse } from "./webhook-request.ts";
import { nextRetryDelayMs, parseRetryAfter, WEBHOOK_RETRY_DELAYS_MS } from "./webhook-schedule.ts";
import { WebhookSecretStore } from "./webhook-secrets.ts";
import { signWebhook } from "./webhook-signing.ts";
import { checkWebhookUrl, type WebhookUrlPolicy } from "./webhook-url-guard.ts";

export interface WebhookDispatcherOptions {
  db: Database;
  policy: WebhookUrlPolicy;
  /** Deliveries in flight at once. */
  concurrency?: number;
  /** Per attempt; Standard Webhooks suggests 15–30 s. */
  timeoutMs?: number;
  pollMs?: number;
  /** Delays before each retry; the default is about three days (WEBHOOK_RETRY_DELAYS_MS). */
  retryDelaysMs?: readonly number[];
  /** ± fraction of each retry delay drawn at random. */
  jitter?: number;
  log?: Log;
}

export interface WebhookDispatcher {
  stop(): Promise<void>;
}

interface DueEvent {
  id: string;
  lab_id: string;
  job_id: string;
  type: string;
  payload: string;
  attempts: number;
  retry_step: number;
  url: string | null;
  disabled_at: Date | null;
}

type Outcome = { kind: "delivered" } | { kind: "gone" } | { kind: "retry"; retryAfterMs: number | null };

/**
 * Sends outbox events: claims due ones (SKIP LOCKED, pushing next_attempt_at past the attempt so no other
 * dispatcher takes them meanwhile), signs, checks the URL again, POSTs to the checked address, and logs
 * every attempt. Runs inside the embedded server or alone, as many instances as wanted.
 */
export async function startWebhookDispatcher(options: WebhookDispatcherOptions): Promise<WebhookDispatcher> {
  const { db, policy } = options;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const delaysMs = options.retryDelaysMs ?? WEBHOOK_RETRY_DELAYS_MS;
  const jitter = options.jitter ?? 0.1;
  const log = options.log ?? silentLog;
  const secrets = new WebhookSecretStore(db);

  async function claim(free: number): Promise<DueEvent[]> {
    return db.query<DueEvent>(
      `with due as (
         select id from webhook_events where status = 'pending' and next_attempt_at <= now()
          order by next_attempt_at limit $1 for update skip locked),
       e as (
         update webhook_events set attempts = webhook_events.attempts + 1,
                next_attempt_at = now() + $2 * interval '1 millisecond'
           from due where webhook_events.id = due.id returning webhook_events.*)
       select e.id, e.lab_id, e.job_id, e.type, e.payload, e.attempts, e.retry_step, w.url, w.disabled_at
         from e left join job_webhooks w on w.job_id = e.job_id`,
      // The claim outlasts the attempt, so a crashed dispatcher's events come due again.
      [free, timeoutMs * 2 + 5000],
    );
  }

  async function attempt(event: DueEvent): Promise<WebhookResponse> {
    try {
      const target = await checkWebhookUrl(event.url!, policy);
      const headers = signWebhook(
        await secrets.signingSecrets(event.lab_id),
        event.id,
        Math.floor(Date.now() / 1000),
        event.payload,
      );
      return await postWebhook(target, headers, event.payload, timeoutMs);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return {
        statusCode: null,
        retryAfter: undefined,
        durationMs: 0,
        error: `${error.code}: ${error.message}`,
      };
    }
  }

  async function deliver(event: DueEvent): Promise<void> {
    if (!event.url || event.disabled_at) {
      await db.query("update webhook_events set status = 'disabled' where id = $1 and lab_id = $2", [
        event.id,
        event.lab_id,
      ]);
      return;
    }
    const response = await attempt(event);
    const code = response.statusCode;
    const outcome: Outcome =
      code !== null && code >= 200 && code < 300
        ? { kind: "delivered" }
        : code === 410
          ? { kind: "gone" }
          : { kind: "retry", retryAfterMs: parseRetryAfter(response.retryAfter) };
    await record(event, response, outcome);
    log.info(
      { event: event.id, job: event.job_id, attempt: event.attempts, status: code, error: response.error },
      "webhook attempt",
    );
  }

  async function record(event: DueEvent, response: WebhookResponse, outcome: Outcome): Promise<void> {
    await db.transaction(async (tx) => {
      await tx.query(
        `insert into webhook_deliveries (id, lab_id, event_id, job_id, attempt, url, status_code, duration_ms, error)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          newId("whd"),
          event.lab_id,
          event.id,
          event.job_id,
          event.attempts,
          event.url,
          response.statusCode,
          response.durationMs,
          response.error ?? (outcome.kind === "retry" ? `HTTP ${response.statusCode}` : null),
        ],
      );
      if (outcome.kind === "delivered") {
        await tx.query(
          "update webhook_events set status = 'delivered', delivered_at = now() where id = $1 and lab_id = $2",
          [event.id, event.lab_id],
        );
      } else if (outcome.kind === "gone") {
        // 410 Gone: the receiver wants nothing more for this subscription, this event or later ones.
        await tx.query(
          `update job_webhooks set disabled_at = now(), disabled_reason = 'receiver answered 410 Gone'
            where job_id = $1 and lab_id = $2`,
          [event.job_id, event.lab_id],
        );
        await tx.query(
          `update webhook_events set status = 'disabled'
            where job_id = $1 and lab_id = $2 and (status = 'pending' or id = $3)`,
          [event.job_id, event.lab_id, event.id],
        );
      } else {
        const delay = nextRetryDelayMs(event.retry_step, {
          delaysMs,
          jitter,
          retryAfterMs: outcome.retryAfterMs,
        });
        await tx.query(
          `update webhook_events set retry_step = retry_step + 1,
                  status = case when $3::int8 is null then 'failed' else 'pending' end,
                  next_attempt_at = now() + coalesce($3::int8, 0) * interval '1 millisecond'
            where id = $1 and lab_id = $2`,
          [event.id, event.lab_id, delay],
        );
      }
    });
  }

  const loop = await startClaimLoop<DueEvent>({
    db,
    channel: WEBHOOKS_CHANNEL,
    pollMs: options.pollMs ?? 1000,
    concurrency: options.concurrency ?? 8,
    log,
    claim,
    handle: deliver,
  });
  return {
    async stop() {
      await loop.stop();
      await loop.settled();
    },
  };
}
