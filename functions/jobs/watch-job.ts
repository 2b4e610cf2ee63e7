import type { JobRecord, JobStatus } from "../../core/contracts/jobs.ts";
import type { JobStore } from "../../core/jobs/job-store.ts";

export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ["succeeded", "failed", "canceled", "expired"];

export const isTerminal = (status: JobStatus) => TERMINAL_JOB_STATUSES.includes(status);

/** How often a watched job is read again. */
export const JOB_POLL_MS = 250;

/**
 * Yields the job now, then again each time its status or progress changes, and returns after a terminal
 * state or when `signal` aborts. It polls the store: job changes are not all announced by NOTIFY, and
 * polling works the same on PGlite, PostgreSQL and Lambda.
 */
export async function* watchJob(
  jobs: JobStore,
  labId: string,
  id: string,
  options: { signal: AbortSignal; pollMs?: number },
): AsyncGenerator<JobRecord> {
  let seen = "";
  while (!options.signal.aborted) {
    const job = await jobs.get(labId, id);
    const state = JSON.stringify([job.status, job.progress, job.progress_message]);
    if (state !== seen) {
      seen = state;
      yield job;
    }
    if (isTerminal(job.status)) return;
    await abortableSleep(options.pollMs ?? JOB_POLL_MS, options.signal);
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
