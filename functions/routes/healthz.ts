import { createRoute, z } from "@hono/zod-openapi";
import type { App } from "../env.ts";

const route = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["health"],
  summary: "Liveness: the process answers",
  responses: {
    200: {
      description: "Alive",
      content: { "application/json": { schema: z.object({ status: z.literal("ok"), version: z.string() }) } },
    },
  },
});

export function registerHealthz(app: App): void {
  app.openapi(route, (c) => c.json({ status: "ok" as const, version: c.var.services.version }, 200));
}
