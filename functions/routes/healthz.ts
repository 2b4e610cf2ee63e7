import { createRoute, z } from "@hono/zod-openapi";
import type { App } from "../env.ts";

const route = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["health"],
  summary: "Liveness: the process answers",
  description:
    "Answers as long as the process serves HTTP, also while the models load; no API key. For a load balancer's " +
    "liveness probe: restart the process when it stops answering. Readiness to serve is /readyz.",
  security: [],
  responses: {
    200: {
      description: "Alive",
      content: {
        "application/json": {
          schema: z.object({
            status: z.literal("ok").openapi({ description: "Always ok" }),
            version: z.string().openapi({ description: "The service's version (package.json)" }),
          }),
          example: { status: "ok", version: "0.1.0" },
        },
      },
    },
  },
});

export function registerHealthz(app: App): void {
  app.openapi(route, (c) => c.json({ status: "ok" as const, version: c.var.services.version }, 200));
}
