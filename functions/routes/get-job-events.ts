import { createRoute, z } from "@hono/zod-openapi";
import type { App } from "../env.ts";
import { streamJobEvents } from "../jobs/job-event-stream.ts";
import { JobIdParam } from "../jobs/job-schemas.ts";
import { finishedJobExample, queuedJobExample } from "../schemas/examples.ts";
import { problemResponses } from "../schemas/problem.ts";

/** A short job's stream: its state, a progress event, the final status; each data line a job without inputs. */
function eventStreamExample(): string {
  const withoutInputs = ({ inputs: _inputs, ...job }: { inputs: unknown }) => job;
  const queued = withoutInputs(queuedJobExample("embeddings"));
  const done = withoutInputs(finishedJobExample("embeddings"));
  const running = {
    ...done,
    status: "running",
    progress: 0.5,
    progress_message: "225 of 450 trials embedded",
  };
  return [
    `event: status\ndata: ${JSON.stringify(queued)}\n`,
    `event: progress\ndata: ${JSON.stringify({ ...running, completed_at: null, outputs: null })}\n`,
    ": heartbeat\n",
    `event: status\ndata: ${JSON.stringify(done)}\n`,
  ].join("\n");
}

const route = createRoute({
  method: "get",
  path: "/v1/jobs/{id}/events",
  tags: ["jobs"],
  summary: "Server-sent events of a job's status and progress, until it finishes",
  description:
    "Events: `status` (first the job as it is, then at each status change) and `progress` (progress or " +
    "progress_message changed). `data` is the job without its inputs. The stream closes after a terminal " +
    "status (succeeded, failed, canceled, expired); `: heartbeat` comments keep it open meanwhile.",
  request: { params: JobIdParam },
  responses: {
    200: {
      description: "The event stream",
      content: { "text/event-stream": { schema: z.string(), example: eventStreamExample() } },
    },
    ...problemResponses(401, 404),
  },
});

export function registerGetJobEvents(app: App): void {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    // Find the job first, so an unknown id answers 404 as a problem instead of an empty stream.
    await c.var.services.jobs.get(c.var.lab.id, id);
    return streamJobEvents(c, id);
  });
}
