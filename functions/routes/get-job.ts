import { createRoute } from "@hono/zod-openapi";
import type { App } from "../env.ts";
import { JobIdParam, JobResource } from "../jobs/job-schemas.ts";
import { presentJob } from "../jobs/present-job.ts";
import { finishedJobExample } from "../schemas/examples.ts";
import { problemResponses } from "../schemas/problem.ts";

const route = createRoute({
  method: "get",
  path: "/v1/jobs/{id}",
  tags: ["jobs"],
  summary: "A job: status, progress, timing, and its outputs (files as signed URLs) or error",
  description:
    "Poll it until `status` is final (succeeded, failed, canceled, expired), or follow urls.events. Output " +
    "files are signed GET URLs that last an hour; each call signs fresh ones. A failed job has `error`.",
  request: { params: JobIdParam },
  responses: {
    200: {
      description: "The job",
      content: { "application/json": { schema: JobResource, example: finishedJobExample("embeddings") } },
    },
    ...problemResponses(401, 404),
  },
});

export function registerGetJob(app: App): void {
  app.openapi(route, async (c) => {
    const { jobs, blobs } = c.var.services;
    const job = await jobs.get(c.var.lab.id, c.req.valid("param").id);
    return c.json(await presentJob(job, blobs, new URL(c.req.url).origin), 200);
  });
}
