import { createRoute } from "@hono/zod-openapi";
import type { App } from "../env.ts";
import { JobList, JobListQuery } from "../jobs/job-schemas.ts";
import { presentJob } from "../jobs/present-job.ts";
import { finishedJobExample } from "../schemas/examples.ts";
import { problemResponses } from "../schemas/problem.ts";

const route = createRoute({
  method: "get",
  path: "/v1/jobs",
  tags: ["jobs"],
  summary: "The lab's jobs, newest first; pass next_cursor as cursor for the next page",
  description:
    "Pages of the lab's jobs (without their inputs), optionally only those with one status; pass next_cursor " +
    "back as cursor until it is null.",
  request: { query: JobListQuery },
  responses: {
    200: {
      description: "A page of jobs",
      content: {
        "application/json": {
          schema: JobList,
          example: {
            data: [(({ inputs: _inputs, ...job }) => job)(finishedJobExample("embeddings"))],
            next_cursor: "MTc0MTk0NTI2MjExNDAwMDpqb2JfazVuMmMzdnlxNnI3bTR0Yg",
          },
        },
      },
    },
    ...problemResponses(400, 401),
  },
});

export function registerListJobs(app: App): void {
  app.openapi(route, async (c) => {
    const { jobs, blobs } = c.var.services;
    const page = await jobs.list(c.var.lab.id, c.req.valid("query"));
    const origin = new URL(c.req.url).origin;
    const data = await Promise.all(page.data.map((job) => presentJob(job, blobs, origin)));
    return c.json({ data, next_cursor: page.next_cursor }, 200);
  });
}
