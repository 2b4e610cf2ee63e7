import { apiErrorOfProblem } from "../../core/contracts/problem-response.ts";
import type { Job, LabClient } from "../api-client.ts";
import { UserError } from "../user-error.ts";
import { progressBar } from "./progress-bar.ts";

const TERMINAL = new Set(["succeeded", "failed", "canceled", "expired"]);

/**
 * Follows a job's event stream with a progress bar until it ends, and returns it once succeeded; a failed,
 * canceled or expired job is a UserError saying so (with the job's own error, for a failed one).
 */
export async function watchJob(client: LabClient, jobId: string): Promise<Job> {
  const bar = progressBar(`${jobId} [{bar}] {percentage}% | {status} {message}`);
  let last: Job | undefined;
  bar.start(1, 0, { status: "", message: "" });
  try {
    for await (const { job } of client.events(jobId)) {
      last = job;
      bar.update(job.progress, { status: job.status, message: job.progress_message ?? "" });
      if (TERMINAL.has(job.status)) break;
    }
  } finally {
    bar.stop();
  }
  // The stream can end early (a proxy, a restart): the job itself says where it is.
  if (!last || !TERMINAL.has(last.status)) last = await client.call<Job>("GET", `/v1/jobs/${jobId}`);
  if (!TERMINAL.has(last.status)) {
    throw new UserError(
      `job ${jobId} is still ${last.status}; watch it again with \`mindeye jobs watch ${jobId}\``,
    );
  }
  return finished(last);
}

/** A terminal job as its outcome: the job when it succeeded, its error otherwise. */
export function finished(job: Job): Job {
  if (job.status === "succeeded") return job;
  if (job.status === "failed") {
    const error = apiErrorOfProblem(job.error);
    const why = error ? `${error.message} (${error.code})` : JSON.stringify(job.error);
    throw new UserError(`job ${job.id} failed: ${why}`);
  }
  throw new UserError(`job ${job.id} was ${job.status}`);
}
