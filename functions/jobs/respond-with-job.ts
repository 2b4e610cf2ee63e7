import type { Context } from "hono";
import type { NewJob } from "../../core/jobs/job-store.ts";
import type { AppEnv } from "../env.ts";
import { idempotent } from "../middleware/idempotency.ts";
import type { JobResource } from "./job-schemas.ts";
import { parsePrefer } from "./prefer.ts";
import { presentJob } from "./present-job.ts";
import { isTerminal, watchJob } from "./watch-job.ts";

/**
 * What a route that starts a job answers with. Creates the job (under `Idempotency-Key` when given, in
 * the transaction that stores the 202 for replays: see idempotent()). With `Prefer: wait=N` it then waits
 * up to N seconds: 200 with the finished job, or 202 with it as it is by then. Otherwise 202 at once.
 * Routes declare `jobCreatedResponses` (job-schemas.ts) and `IdempotencyKeyHeaders`.
 */
export async function respondWithJob(c: Context<AppEnv>, newJob: Omit<NewJob, "labId">) {
  const { jobs, blobs } = c.var.services;
  const labId = c.var.lab.id;
  const origin = new URL(c.req.url).origin;
  const created = await idempotent(c, async (tx) => {
    const job = await jobs.create({ ...newJob, labId }, tx);
    return { status: 202 as const, body: await presentJob(job, blobs, origin) };
  });
  let resource: JobResource = created.body;
  c.header("Location", resource.urls.get);

  const { waitSeconds } = parsePrefer(c.req.header("prefer"));
  if (waitSeconds !== null) {
    c.header("Preference-Applied", `wait=${waitSeconds}`);
    // Stop waiting when the time is up or the client has gone.
    const signal = AbortSignal.any([c.req.raw.signal, AbortSignal.timeout(waitSeconds * 1000)]);
    let latest = null;
    for await (const job of watchJob(jobs, labId, resource.id, { signal })) latest = job;
    // The watcher reads the job without its inputs; they have not changed since it was created.
    if (latest) resource = { ...(await presentJob(latest, blobs, origin)), inputs: resource.inputs };
  }
  return isTerminal(resource.status) ? c.json(resource, 200) : c.json(resource, 202);
}
