import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { ApiError, problemOf } from "../../core/contracts/errors.ts";
import type { JobStatus } from "../../core/contracts/jobs.ts";
import type { AppEnv } from "../env.ts";
import { presentJob } from "./present-job.ts";
import { JOB_POLL_MS, watchJob } from "./watch-job.ts";

export interface JobEventStreamOptions {
  pollMs: number;
  /** A comment line this often keeps proxies and load balancers from closing an idle stream. */
  heartbeatMs: number;
}

export const JOB_EVENT_STREAM_DEFAULTS: JobEventStreamOptions = { pollMs: JOB_POLL_MS, heartbeatMs: 15_000 };

/**
 * Server-sent events of one job (which the caller has already found in the lab): `status` with the job
 * now and at each status change, `progress` at each progress change in between, each with the job
 * (without its inputs) as data. The stream ends after a terminal status, and stops polling as soon as the
 * client disconnects.
 */
export function streamJobEvents(
  c: Context<AppEnv>,
  jobId: string,
  options: JobEventStreamOptions = JOB_EVENT_STREAM_DEFAULTS,
): Response {
  const { jobs, blobs, log } = c.var.services;
  const labId = c.var.lab.id;
  const origin = new URL(c.req.url).origin;
  return streamSSE(c, async (stream) => {
    const disconnected = new AbortController();
    stream.onAbort(() => disconnected.abort());
    const heartbeat = setInterval(() => void stream.write(": heartbeat\n\n"), options.heartbeatMs);
    try {
      let sequence = 0;
      let lastStatus: JobStatus | null = null;
      const watch = { signal: disconnected.signal, pollMs: options.pollMs };
      for await (const job of watchJob(jobs, labId, jobId, watch)) {
        const data = await presentJob(job, blobs, origin);
        await stream.writeSSE({
          event: job.status === lastStatus ? "progress" : "status",
          id: String(++sequence),
          data: JSON.stringify(data),
        });
        lastStatus = job.status;
      }
    } catch (error) {
      // The response has started, so a failure can only be told inside the stream.
      log.error({ err: error, job: jobId }, "job event stream failed");
      const problem = problemOf(
        new ApiError("internal_error", "The event stream failed; reconnect, or poll the job's urls.get."),
        c.get("requestId"),
      );
      await stream.writeSSE({ event: "error", data: JSON.stringify(problem) });
    } finally {
      clearInterval(heartbeat);
    }
  });
}
