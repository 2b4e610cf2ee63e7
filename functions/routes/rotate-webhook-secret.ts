import { createRoute } from "@hono/zod-openapi";
import type { App } from "../env.ts";
import { WebhookSecret } from "../jobs/job-schemas.ts";
import { problemResponses } from "../schemas/problem.ts";

const route = createRoute({
  method: "post",
  path: "/v1/webhooks/secret/rotate",
  tags: ["webhooks"],
  summary: "Make a new signing secret; the old one keeps signing too for 24 h, so receivers can switch",
  description:
    "Deliveries carry a signature by each secret still valid (the header lists them space-separated), so " +
    "a receiver updated to the new secret, or not yet, verifies them either way until the old one expires.",
  responses: {
    200: {
      description: "The new secret, and the previous ones still signing",
      content: {
        "application/json": {
          schema: WebhookSecret,
          example: {
            secret: "whsec_L+G9BdV+SiVIQqGN8Uh06ARJFvH+WEcQOoWH/wp/JDo=",
            created_at: "2025-03-14T09:51:21.126Z",
            previous: [{ created_at: "2025-03-14T09:00:21.042Z", expires_at: "2025-03-15T09:51:21.126Z" }],
          },
        },
      },
    },
    ...problemResponses(401),
  },
});

export function registerRotateWebhookSecret(app: App): void {
  app.openapi(route, async (c) => c.json(await c.var.services.webhookSecrets.rotate(c.var.lab.id), 200));
}
