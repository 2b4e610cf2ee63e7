import type { App } from "../env.ts";

/** Prometheus scrape endpoint; not part of the public API document. */
export function registerMetrics(app: App): void {
  app.get("/metrics", async (c) => {
    const { contentType, body } = await c.var.services.metrics.render();
    return c.body(body, 200, { "content-type": contentType });
  });
}
