import { z } from "zod";
import { closedObject } from "./closed-object.ts";

/** Wire shapes of async jobs, their webhook subscriptions, the events sent, and delivery attempts. */

export const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "canceled", "expired"] as const;
export const jobStatusSchema = z.enum(JOB_STATUSES);
export type JobStatus = z.infer<typeof jobStatusSchema>;

/** `job.expired` is ours in addition to the five of the architecture: without it a lab never hears of a deadline missed. */
export const WEBHOOK_EVENT_TYPES = [
  "job.started",
  "job.progress",
  "job.succeeded",
  "job.failed",
  "job.canceled",
  "job.expired",
] as const;
export const webhookEventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES);
export type WebhookEventType = z.infer<typeof webhookEventTypeSchema>;

/** A problem object (RFC 9457) as stored in a failed job's `error`. */
export const problemSchema = z
  .looseObject({
    type: z.string().meta({ description: "urn:mindeye:problem:<code>" }),
    title: z.string().meta({ description: "The code's fixed summary" }),
    status: z.number().int().meta({ description: "The HTTP status the error would have had" }),
    detail: z.string().meta({ description: "What went wrong and what to change" }),
    code: z.string().meta({ description: "The stable error code (the list of application/problem+json)" }),
  })
  .meta({ description: "Why the job failed: an RFC 9457 problem" });

/** What a client sends as `webhook` when creating a job; `events` defaults to every event type. */
export const webhookSubscriptionInputSchema = closedObject({
  url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .meta({ description: "Your receiver; POSTed signed Standard Webhooks events (https, public address)" }),
  events: z
    .array(webhookEventTypeSchema)
    .min(1)
    .optional()
    .meta({ description: "The event types to send (default: all)" }),
});
export type WebhookSubscriptionInput = z.infer<typeof webhookSubscriptionInputSchema>;

export const jobSchema = z.object({
  id: z.string().meta({ description: "The job's id (job_...)" }),
  kind: z
    .string()
    .meta({ description: "What it runs: embeddings, retrievals, reconstructions or inspect_upload" }),
  status: jobStatusSchema.meta({
    description:
      "queued, running, then one of succeeded, failed, canceled, expired (queued past its deadline)",
  }),
  progress: z.number().min(0).max(1).meta({ description: "Fraction done, 0 to 1" }),
  progress_message: z.string().nullable().meta({ description: "What it is doing now, e.g. which step" }),
  progress_detail: z.record(z.string(), z.unknown()).nullable().meta({
    description:
      "Structured progress of the job's kind, written with progress_message (reconstructions: input, stage, step)",
  }),
  created_at: z.iso.datetime().meta({ description: "When it was created" }),
  started_at: z.iso.datetime().nullable().meta({ description: "When a worker first started it" }),
  completed_at: z.iso.datetime().nullable().meta({ description: "When it reached its final status" }),
  deadline: z.iso
    .datetime()
    .nullable()
    .meta({ description: "Not started by then, it expires; null: no deadline" }),
  cancel_requested: z
    .boolean()
    .meta({ description: "A cancel was asked for; a running job stops at its next progress report" }),
  attempts: z
    .number()
    .int()
    .meta({ description: "Times a worker has started it (a lost worker's job is retried)" }),
  max_attempts: z.number().int().meta({ description: "Attempts before it fails" }),
  metrics: z
    .object({
      queue_time: z
        .number()
        .nullable()
        .meta({ description: "Seconds from creation to the first start (so far, while queued)" }),
      run_time: z
        .number()
        .nullable()
        .meta({ description: "Seconds from the first start to completion (so far, while running)" }),
    })
    .meta({ description: "Time spent waiting and running" }),
  inputs: z.unknown().meta({
    description: "The request's inputs (betas) as sent; past 64 KiB, {stored_in_blob: true, bytes} instead",
  }),
  params: z
    .record(z.string(), z.unknown())
    .meta({ description: "The request's settings, defaults filled in" }),
  outputs: z.unknown().nullable().meta({ description: "What the job produced, once succeeded" }),
  error: problemSchema.nullable(),
  webhook: z
    .object({
      url: z.string().meta({ description: "The receiver" }),
      events: z.array(webhookEventTypeSchema).meta({ description: "The event types sent to it" }),
      disabled_at: z.iso.datetime().nullable().meta({
        description:
          "When deliveries stopped because the receiver answered 410 Gone; a redelivery resumes them",
      }),
    })
    .nullable()
    .meta({ description: "The job's webhook subscription; null without one" }),
});
export type JobRecord = z.infer<typeof jobSchema>;

/**
 * The body of every webhook POST (Standard Webhooks' recommended envelope). `data` is the job without its
 * inputs, which can be megabytes of inline betas: webhook bodies should stay small.
 */
export const webhookEventSchema = z.object({
  type: webhookEventTypeSchema,
  timestamp: z.iso.datetime(),
  data: jobSchema.omit({ inputs: true }),
});
export type WebhookEvent = z.infer<typeof webhookEventSchema>;

export const jobListQuerySchema = z.object({
  status: jobStatusSchema.optional().meta({ description: "Only jobs with this status" }),
  limit: z.coerce.number().int().min(1).max(100).default(20).meta({ description: "Jobs per page, 1 to 100" }),
  cursor: z
    .string()
    .max(200)
    .optional()
    .meta({ description: "The next_cursor of the previous page; leave out for the newest jobs" }),
});
export type JobListQuery = z.infer<typeof jobListQuerySchema>;

export const jobListSchema = z.object({
  data: z.array(jobSchema),
  next_cursor: z.string().nullable(),
});

export const webhookDeliverySchema = z.object({
  id: z.string().meta({ description: "This attempt's id (whd_...)" }),
  event_id: z.string().meta({ description: "The webhook-id header, the same on every attempt of one event" }),
  event_type: webhookEventTypeSchema.meta({ description: "The event sent" }),
  event_status: z.enum(["pending", "delivered", "failed", "disabled"]).meta({
    description: "The event's state now: retrying, delivered, given up, or its subscription disabled",
  }),
  attempt: z.number().int().meta({ description: "1 for the first try, then each retry" }),
  url: z.string().meta({ description: "Where it was POSTed" }),
  status_code: z
    .number()
    .int()
    .nullable()
    .meta({ description: "The receiver's HTTP status; null if none came" }),
  duration_ms: z.number().int().meta({ description: "How long the attempt took" }),
  error: z
    .string()
    .nullable()
    .meta({ description: "Why it failed (timeout, refused address, ...); null on 2xx" }),
  created_at: z.iso.datetime().meta({ description: "When it was attempted" }),
});
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;

export const webhookSecretSchema = z.object({
  secret: z
    .string()
    .meta({ description: "whsec_<base64>: verify webhook-signature with it (Standard Webhooks)" }),
  created_at: z.iso.datetime().meta({ description: "When it was made" }),
  previous: z
    .array(
      z.object({
        created_at: z.iso.datetime().meta({ description: "When that secret was made" }),
        expires_at: z.iso.datetime().meta({ description: "Until when it also signs deliveries" }),
      }),
    )
    .meta({ description: "Rotated-out secrets still signing deliveries, and until when" }),
});
export type WebhookSecretRecord = z.infer<typeof webhookSecretSchema>;
