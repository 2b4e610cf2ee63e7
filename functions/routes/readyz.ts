import { createRoute, z } from "@hono/zod-openapi";
import type { App } from "../env.ts";

const Checks = z
  .record(
    z.string(),
    z.object({
      ok: z.boolean().openapi({ description: "Whether this dependency answered" }),
      error: z.string().optional().openapi({ description: "Why not, when it did not" }),
    }),
  )
  .openapi({ description: "One entry per dependency: database, blob_store, models" });
const Readiness = z.object({
  status: z.enum(["ready", "not_ready"]).openapi({ description: "ready when every check is ok" }),
  checks: Checks,
});

const route = createRoute({
  method: "get",
  path: "/readyz",
  tags: ["health"],
  summary: "Readiness: models loaded, database and stores reachable",
  description:
    "Probes every dependency and answers 503 until all of them work, e.g. while the models load on first start " +
    "(sim01 is generated then). For a load balancer's readiness probe; no API key.",
  security: [],
  responses: {
    200: {
      description: "Ready to serve",
      content: {
        "application/json": {
          schema: Readiness,
          example: {
            status: "ready",
            checks: { database: { ok: true }, blob_store: { ok: true }, models: { ok: true } },
          },
        },
      },
    },
    503: {
      description: "Some dependency is not usable",
      content: {
        "application/json": {
          schema: Readiness,
          example: {
            status: "not_ready",
            checks: {
              database: { ok: true },
              blob_store: { ok: true },
              models: { ok: false, error: "The models are still loading. Retry in a few seconds." },
            },
          },
        },
      },
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
