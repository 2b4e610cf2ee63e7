import { createRoute } from "@hono/zod-openapi";
import { eraseJob } from "../../core/jobs/erase-job.ts";
import type { App } from "../env.ts";
import { JobIdParam } from "../jobs/job-schemas.ts";
import { problemResponses } from "../schemas/problem.ts";

const route = createRoute({
  method: "delete",
  path: "/v1/jobs/{id}",
  tags: ["jobs"],
  summary: "Erase a finished job: its inputs, output files, webhook events and delivery log",
  description:
    "A queued or running job is refused (409): cancel it first, then delete it once it has stopped.",
  request: { params: JobIdParam },
  responses: { 204: { description: "Erased" }, ...problemResponses(401, 404, 409) },
});

export function registerDeleteJob(app: App): void {
  app.openapi(route, async (c) => {
    const { jobs, blobs } = c.var.services;
    await eraseJob({ jobs, blobs }, c.var.lab.id, c.req.valid("param").id);
    return c.body(null, 204);
  });
}
