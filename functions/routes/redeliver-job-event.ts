import { createRoute } from "@hono/zod-openapi";
import type { App } from "../env.ts";
import { JobEventParams } from "../jobs/job-schemas.ts";
import { problemResponses } from "../schemas/problem.ts";

const route = createRoute({
  method: "post",
  path: "/v1/jobs/{id}/deliveries/{event_id}/redeliver",
  tags: ["webhooks"],
  summary: "Send a webhook event again (same webhook-id and body), with a fresh retry schedule",
  description:
    "Also re-enables the job's webhook if a 410 Gone had disabled it. The attempts appear in " +
    "GET /v1/jobs/{id}/deliveries.",
  request: { params: JobEventParams },
  responses: {
    202: { description: "Queued for delivery" },
    ...problemResponses(401, 404),
  },
});

export function registerRedeliverJobEvent(app: App): void {
  app.openapi(route, async (c) => {
    const { id, event_id } = c.req.valid("param");
    await c.var.services.webhookDeliveries.redeliver(c.var.lab.id, id, event_id);
    return c.body(null, 202);
  });
}
