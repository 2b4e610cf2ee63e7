import type { z } from "@hono/zod-openapi";
import type { JobUrls } from "./job-schemas.ts";

/** Absolute URLs of a job's resources, on the origin the request came to (as Replicate's `urls`). */
export function jobUrls(origin: string, job: { id: string; kind: string }): z.infer<typeof JobUrls> {
  const at = (path: string) => new URL(`/v1/jobs/${job.id}${path}`, origin).toString();
  const urls = { get: at(""), cancel: at("/cancel"), events: at("/events") };
  return job.kind === "retrievals" ? { ...urls, results: at("/results") } : urls;
}
