import { z } from "@hono/zod-openapi";
import {
  jobListQuerySchema,
  jobSchema,
  webhookDeliverySchema,
  webhookSecretSchema,
} from "../../core/contracts/jobs.ts";
import { type ExampleJobKind, finishedJobExample, queuedJobExample } from "../schemas/examples.ts";

/**
 * OpenAPI forms of the job and webhook wire shapes in core/contracts/jobs.ts, plus what only the API adds.
 * The contracts' schemas may be built before @hono/zod-openapi adds `.openapi()` to zod, so each is rebuilt
 * from its shape here.
 */

export const JobIdParam = z.object({
  id: z.string().openapi({
    param: { name: "id", in: "path", description: "The job's id, as returned when it was created" },
    example: "job_k5n2c3vyq6r7m4tb",
  }),
});

export const JobEventParams = JobIdParam.extend({
  event_id: z.string().openapi({
    param: {
      name: "event_id",
      in: "path",
      description: "The event's id: a delivery's event_id (webhook-id)",
    },
    example: "evt_3m4c2a7pq1xw8d5z",
  }),
});

export const JobUrls = z
  .object({
    get: z.string().openapi({ description: "Poll here for the job" }),
    cancel: z.string().openapi({ description: "POST here to cancel it" }),
    events: z.string().openapi({ description: "Server-sent events of its status and progress" }),
    results: z
      .string()
      .optional()
      .openapi({ description: "Retrievals jobs: the results with signed image URLs, once succeeded" }),
  })
  .openapi({ description: "Where to follow the job" });

export const OutputFile = z
  .object({
    url: z.string().openapi({ description: "Signed GET URL; valid until expires_at, no API key needed" }),
    expires_at: z.string().openapi({ description: "When the URL stops working (ISO 8601)" }),
    content_type: z
      .string()
      .openapi({ description: "The file's media type, e.g. application/x-npy, image/png" }),
    bytes: z.number().int().openapi({ description: "The file's size" }),
  })
  .openapi("JobOutputFile", { description: "A file a job wrote" });

export const JobResource = z
  .object({
    ...jobSchema.shape,
    progress_detail: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({
        description:
          "Structured progress, written with progress_message. Reconstructions: {input, inputs, stage, " +
          "step, steps, inputs_done, preview?: {url, expires_at, input, step, steps, width, height}}",
      }),
    outputs: z
      .unknown()
      .nullable()
      .openapi({
        description:
          "What the job produced, once succeeded. Files are under `outputs.files`, each a short-lived " +
          "signed URL (JobOutputFile); fetch a fresh one with GET /v1/jobs/{id} when it has expired.",
      }),
    urls: JobUrls,
  })
  .openapi("Job", {
    description:
      "An asynchronous job (embeddings or retrievals over uploads, reconstructions, upload inspection)",
  });
export type JobResource = z.infer<typeof JobResource>;

export const JobListQuery = z.object(jobListQuerySchema.shape);

/** Jobs of a page come without their inputs (which can be megabytes); GET /v1/jobs/{id} has them. */
export const JobList = z.object({
  data: z
    .array(JobResource.omit({ inputs: true }))
    .openapi({ description: "The jobs of this page, newest first, without their inputs" }),
  next_cursor: z
    .string()
    .nullable()
    .openapi({ description: "Pass as cursor for the next page; null on the last one" }),
});

export const WebhookDeliveryList = z.object({
  data: z
    .array(
      z
        .object(webhookDeliverySchema.shape)
        .openapi("WebhookDelivery", { description: "One delivery attempt" }),
    )
    .openapi({ description: "Every attempt, oldest first" }),
});

export const WebhookSecret = z
  .object(webhookSecretSchema.shape)
  .openapi("WebhookSecret", { description: "The lab's webhook signing secret" });

/** Responses of a route that creates a job of `kind` (see respond-with-job.ts), with examples of that kind. */
export const jobCreatedResponses = (kind: ExampleJobKind) => ({
  200: {
    description: "Finished within the time asked for with `Prefer: wait=N`",
    content: { "application/json": { schema: JobResource, example: finishedJobExample(kind) } },
  },
  202: {
    description: "Accepted: follow urls.get, urls.events, or the webhook",
    content: { "application/json": { schema: JobResource, example: queuedJobExample(kind) } },
  },
});
