import { createRoute, z } from "@hono/zod-openapi";
import type { App } from "../env.ts";

const Checks = z.record(z.string(), z.object({ ok: z.boolean(), error: z.string().optional() }));
const Readiness = z.object({ status: z.enum(["ready", "not_ready"]), checks: Checks });

const route = createRoute({
  method: "get",
  path: "/readyz",
  tags: ["health"],
  summary: "Readiness: models loaded, database and stores reachable",
  responses: {
    200: { description: "Ready to serve", content: { "application/json": { schema: Readiness } } },
    503: {
      description: "Some dependency is not usable",
      content: { "application/json": { schema: Readiness } },
    },
  },
});

export function registerReadyz(app: App): void {
  app.openapi(route, async (c) => {
    const entries = await Promise.all(
      Object.entries(c.var.services.readiness).map(async ([name, probe]) => {
        try {
          await probe();
          return [name, { ok: true }] as const;
        } catch (error) {
          return [name, { ok: false, error: (error as Error).message }] as const;
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    const ready = entries.every(([, r]) => r.ok);
    return ready
      ? c.json({ status: "ready" as const, checks }, 200)
      : c.json({ status: "not_ready" as const, checks }, 503);
  });
}
