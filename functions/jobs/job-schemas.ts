import { z } from "@hono/zod-openapi";
import {
  jobListQuerySchema,
  jobSchema,
  webhookDeliverySchema,
  webhookSecretSchema,
} from "../../core/contracts/jobs.ts";

/**
 * OpenAPI forms of the job and webhook wire shapes in core/contracts/jobs.ts, plus what only the API adds.
 * The contracts' schemas may be built before @hono/zod-openapi adds `.openapi()` to zod, so each is rebuilt
 * from its shape here.
 */

export const JobIdParam = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, example: "job_k5n2c3vyq6r7" }),
});

export const JobEventParams = JobIdParam.extend({
  event_id: z.string().openapi({ param: { name: "event_id", in: "path" }, example: "evt_3m4c2a7pq1x" }),
});

export const JobUrls = z.object({
  get: z.string().openapi({ description: "Poll here for the job" }),
  cancel: z.string().openapi({ description: "POST here to cancel it" }),
  events: z.string().openapi({ description: "Server-sent events of its status and progress" }),
  results: z
    .string()
    .optional()
    .openapi({ description: "Retrievals jobs: the results with signed image URLs, once succeeded" }),
});

export const OutputFile = z
  .object({
    url: z.string().openapi({ description: "Signed GET URL; valid until expires_at, no API key needed" }),
    expires_at: z.string(),
    content_type: z.string(),
    bytes: z.number().int(),
  })
  .openapi("JobOutputFile");

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
  .openapi("Job");
export type JobResource = z.infer<typeof JobResource>;

export const JobListQuery = z.object(jobListQuerySchema.shape);

/** Jobs of a page come without their inputs (which can be megabytes); GET /v1/jobs/{id} has them. */
export const JobList = z.object({
  data: z.array(JobResource.omit({ inputs: true })),
  next_cursor: z.string().nullable(),
});

export const WebhookDeliveryList = z.object({
  data: z.array(z.object(webhookDeliverySchema.shape).openapi("WebhookDelivery")),
});

export const WebhookSecret = z.object(webhookSecretSchema.shape).openapi("WebhookSecret");

/** Responses of a route that creates a job (see respond-with-job.ts). */
export const jobCreatedResponses = {
  200: {
    description: "Finished within the time asked for with `Prefer: wait=N`",
    content: { "application/json": { schema: JobResource } },
  },
  202: {
    description: "Accepted: follow urls.get, urls.events, or the webhook",
    content: { "application/json": { schema: JobResource } },
  },
};
