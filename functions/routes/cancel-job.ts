import { createRoute } from "@hono/zod-openapi";
import type { App } from "../env.ts";
import { JobIdParam, JobResource } from "../jobs/job-schemas.ts";
import { presentJob } from "../jobs/present-job.ts";
import { queuedJobExample } from "../schemas/examples.ts";
import { problemResponses } from "../schemas/problem.ts";

const route = createRoute({
  method: "post",
  path: "/v1/jobs/{id}/cancel",
  tags: ["jobs"],
  summary: "Cancel a job: a queued one at once, a running one at its next progress report or heartbeat",
  description:
    "Returns the job: `canceled`, or still `running` with `cancel_requested: true` until its worker stops. " +
    "Canceling a canceled job is a no-op; a job that succeeded, failed or expired answers 409 job_not_cancelable.",
  request: { params: JobIdParam },
  responses: {
    200: {
      description: "The job after the request",
      content: {
        "application/json": {
          schema: JobResource,
          example: {
            ...queuedJobExample("reconstructions"),
            status: "running",
            progress: 0.41,
            progress_message: "input 0 (of 1) prior 37/100",
            progress_detail: { input: 0, inputs: 1, stage: "prior", step: 37, steps: 100, inputs_done: 0 },
            started_at: "2025-03-14T09:41:02.310Z",
            cancel_requested: true,
            attempts: 1,
            metrics: { queue_time: 0.196, run_time: 48.2 },
          },
        },
      },
    },
    ...problemResponses(401, 404, 409),
  },
});

export function registerCancelJob(app: App): void {
  app.openapi(route, async (c) => {
    const { jobs, blobs } = c.var.services;
    const job = await jobs.cancel(c.var.lab.id, c.req.valid("param").id);
    return c.json(await presentJob(job, blobs, new URL(c.req.url).origin), 200);
  });
}
