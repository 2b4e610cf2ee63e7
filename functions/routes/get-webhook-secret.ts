import { createRoute } from "@hono/zod-openapi";
import type { App } from "../env.ts";
import { WebhookSecret } from "../jobs/job-schemas.ts";
import { problemResponses } from "../schemas/problem.ts";

const route = createRoute({
  method: "get",
  path: "/v1/webhooks/secret",
  tags: ["webhooks"],
  summary: "The lab's webhook signing secret (whsec_…, Standard Webhooks), created on first use",
  description:
    "Verify each webhook's `webhook-signature` header with it (any Standard Webhooks library does), and " +
    "reject events whose `webhook-timestamp` is old. Shown to the lab's keys only.",
  responses: {
    200: {
      description: "The current secret",
      content: {
        "application/json": {
          schema: WebhookSecret,
          example: {
            secret: "whsec_cNFDZQ9nwyZuAvfrsCGm+Whx98PmCRFjeZvjnqxT42M=",
            created_at: "2025-03-14T09:00:21.042Z",
            previous: [],
          },
        },
      },
    },
    ...problemResponses(401),
  },
});

export function registerGetWebhookSecret(app: App): void {
  app.openapi(route, async (c) => c.json(await c.var.services.webhookSecrets.get(c.var.lab.id), 200));
}
