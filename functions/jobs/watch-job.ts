import type { JobRecord, JobStatus } from "../../core/contracts/jobs.ts";
import type { JobStore } from "../../core/jobs/job-store.ts";

export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ["succeeded", "failed", "canceled", "expired"];

export const isTerminal = (status: JobStatus) => TERMINAL_JOB_STATUSES.includes(status);

/** How often a watched job is read again. */
export const JOB_POLL_MS = 250;

/**
 * Yields the job (without its inputs) now, then again each time its status or progress changes, and
 * returns after a terminal state or when `signal` aborts. Each poll reads only status and progress; the
 * job itself is read again only when they changed. Polling, not NOTIFY: job changes are not all announced,
 * and polling works the same on PGlite, PostgreSQL and Lambda.
 */
export async function* watchJob(
  jobs: JobStore,
  labId: string,
  id: string,
  options: { signal: AbortSignal; pollMs?: number },
): AsyncGenerator<Omit<JobRecord, "inputs">> {
  let seen = "";
  while (!options.signal.aborted) {
    const now = await jobs.state(labId, id);
    const state = JSON.stringify([now.status, now.progress, now.progress_message, now.progress_detail]);
    if (state !== seen) {
      seen = state;
      yield await jobs.getWithoutInputs(labId, id);
    }
    if (isTerminal(now.status)) return;
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
