import { createRoute } from "@hono/zod-openapi";
import type { App } from "../env.ts";
import { JobIdParam, WebhookDeliveryList } from "../jobs/job-schemas.ts";
import { problemResponses } from "../schemas/problem.ts";

const route = createRoute({
  method: "get",
  path: "/v1/jobs/{id}/deliveries",
  tags: ["webhooks"],
  summary: "Every webhook delivery attempt for the job's events, oldest first",
  description:
    "What your receiver answered to each POST of each event, and why an attempt failed; failed events are " +
    "retried with backoff. Resend one with POST .../deliveries/{event_id}/redeliver.",
  request: { params: JobIdParam },
  responses: {
    200: {
      description: "The delivery log",
      content: { "application/json": { schema: WebhookDeliveryList } },
    },
    ...problemResponses(401, 404),
  },
});

export function registerListJobDeliveries(app: App): void {
  app.openapi(route, async (c) => {
    const data = await c.var.services.webhookDeliveries.listForJob(c.var.lab.id, c.req.valid("param").id);
    return c.json({ data }, 200);
  });
}
