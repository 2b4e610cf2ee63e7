import { ApiError } from "../../core/contracts/errors.ts";
import type { App } from "../env.ts";

/**
 * Prometheus scrape endpoint; not part of the public API document. When a scrape token is configured
 * (METRICS_TOKEN, as on a public Lambda URL) the scraper must send it as a bearer token.
 */
export function registerMetrics(app: App): void {
  app.get("/metrics", async (c) => {
    const token = c.var.services.metricsToken;
    if (token && !sameToken(c.req.header("authorization") ?? "", `Bearer ${token}`)) {
      throw new ApiError("unauthorized", "Send the scrape token as `Authorization: Bearer <METRICS_TOKEN>`.");
    }
    const { contentType, body } = await c.var.services.metrics.render();
    return c.body(body, 200, { "content-type": contentType });
  });
}

/** Compares in time independent of where the strings differ (routes stay Web-standard: no node:crypto). */
function sameToken(given: string, expected: string): boolean {
  let diff = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) diff |= (given.charCodeAt(i) || 0) ^ expected.charCodeAt(i);
  return diff === 0;
}
