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
      content: {
        "application/json": {
          schema: WebhookDeliveryList,
          example: {
            data: [
              {
                id: "whd_q2w8e4r6t1y3u5i7",
                event_id: "evt_3m4c2a7pq1xw8d5z",
                event_type: "job.succeeded",
                event_status: "delivered",
                attempt: 1,
                url: "https://lab.example.org/hooks/mindeye",
                status_code: 503,
                duration_ms: 412,
                error: "HTTP 503",
                created_at: "2025-03-14T09:41:06.020Z",
              },
              {
                id: "whd_z9x7c5v3b1n2m4k6",
                event_id: "evt_3m4c2a7pq1xw8d5z",
                event_type: "job.succeeded",
                event_status: "delivered",
                attempt: 2,
                url: "https://lab.example.org/hooks/mindeye",
                status_code: 200,
                duration_ms: 88,
                error: null,
                created_at: "2025-03-14T09:41:36.311Z",
              },
            ],
          },
        },
      },
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
