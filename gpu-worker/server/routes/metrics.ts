import type { Hono } from "hono";
import type { WorkerMetrics } from "../worker-metrics.ts";

export function registerMetricsRoute(app: Hono, metrics: WorkerMetrics): void {
  app.get("/metrics", async (c) => {
    const { contentType, body } = await metrics.render();
    return c.body(body, 200, { "content-type": contentType });
  });
}
