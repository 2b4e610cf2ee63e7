import type { z } from "@hono/zod-openapi";
import type { JobUrls } from "./job-schemas.ts";

/** Absolute URLs of a job's resources, on the origin the request came to (as Replicate's `urls`). */
export function jobUrls(origin: string, id: string): z.infer<typeof JobUrls> {
  const at = (path: string) => new URL(`/v1/jobs/${id}${path}`, origin).toString();
  return { get: at(""), cancel: at("/cancel"), events: at("/events") };
}
