import { createRoute, z } from "@hono/zod-openapi";
import type { App } from "../env.ts";
import { problemResponses } from "../schemas/problem.ts";

const IndexResource = z
  .object({
    name: z.string(),
    dim: z.number().int(),
    metric: z.enum(["cosine", "ip"]),
    count: z.number().int(),
    backend: z.enum(["usearch", "exact", "qdrant"]),
  })
  .openapi("Index");

const route = createRoute({
  method: "get",
  path: "/v1/indexes",
  tags: ["retrievals"],
  summary: "The image indexes retrievals can search",
  responses: {
    200: {
      description: "Indexes",
      content: { "application/json": { schema: z.object({ data: z.array(IndexResource) }) } },
    },
    ...problemResponses(401, 502),
  },
});

export function registerListIndexes(app: App): void {
  app.openapi(route, async (c) => c.json({ data: await c.var.services.vectors.list() }, 200));
}
