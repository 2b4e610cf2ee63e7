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
export const problemSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.string(),
});

/** What a client sends as `webhook` when creating a job; `events` defaults to every event type. */
export const webhookSubscriptionInputSchema = closedObject({
  url: z.url({ protocol: /^https?$/ }).max(2048),
  events: z.array(webhookEventTypeSchema).min(1).optional(),
});
export type WebhookSubscriptionInput = z.infer<typeof webhookSubscriptionInputSchema>;

export const jobSchema = z.object({
  id: z.string(),
  kind: z.string(),
  status: jobStatusSchema,
  progress: z.number().min(0).max(1),
  progress_message: z.string().nullable(),
  /** Structured progress of the job's kind, written with `progress_message` (reconstructions: input, stage, step). */
  progress_detail: z.record(z.string(), z.unknown()).nullable(),
  created_at: z.iso.datetime(),
  started_at: z.iso.datetime().nullable(),
  completed_at: z.iso.datetime().nullable(),
  deadline: z.iso.datetime().nullable(),
  cancel_requested: z.boolean(),
  attempts: z.number().int(),
  max_attempts: z.number().int(),
  metrics: z.object({
    /** Seconds from creation to the first start (so far, while queued). */
    queue_time: z.number().nullable(),
    /** Seconds from the first start to completion (so far, while running). */
    run_time: z.number().nullable(),
  }),
  inputs: z.unknown(),
  params: z.record(z.string(), z.unknown()),
  outputs: z.unknown().nullable(),
  error: problemSchema.nullable(),
  webhook: z
    .object({
      url: z.string(),
      events: z.array(webhookEventTypeSchema),
      disabled_at: z.iso.datetime().nullable(),
    })
    .nullable(),
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
  status: jobStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});
export type JobListQuery = z.infer<typeof jobListQuerySchema>;

export const jobListSchema = z.object({
  data: z.array(jobSchema),
  next_cursor: z.string().nullable(),
});

export const webhookDeliverySchema = z.object({
  id: z.string(),
  /** The webhook-id header, the same on every attempt of one event. */
  event_id: z.string(),
  event_type: webhookEventTypeSchema,
  event_status: z.enum(["pending", "delivered", "failed", "disabled"]),
  attempt: z.number().int(),
  url: z.string(),
  status_code: z.number().int().nullable(),
  duration_ms: z.number().int(),
  error: z.string().nullable(),
  created_at: z.iso.datetime(),
});
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;

export const webhookSecretSchema = z.object({
  secret: z.string(),
  created_at: z.iso.datetime(),
  /** Rotated-out secrets still signing deliveries, and until when. */
  previous: z.array(z.object({ created_at: z.iso.datetime(), expires_at: z.iso.datetime() })),
});
export type WebhookSecretRecord = z.infer<typeof webhookSecretSchema>;
