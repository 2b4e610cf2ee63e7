import { createRoute, z } from "@hono/zod-openapi";
import type { App } from "../env.ts";
import { problemResponses } from "../schemas/problem.ts";

const IndexResource = z
  .object({
    name: z.string().openapi({ description: "The index's name, as `index` in a retrieval" }),
    dim: z.number().int().openapi({ description: "Length of its vectors: a query must have as many values" }),
    metric: z.enum(["cosine", "ip"]).openapi({
      description: "Similarity of the scores: cosine, or inner product of the vectors as stored",
    }),
    count: z.number().int().openapi({ description: "Images in the index" }),
    backend: z
      .enum(["usearch", "exact", "qdrant"])
      .openapi({ description: "Where it lives: usearch (embedded HNSW), exact (brute force), or Qdrant" }),
  })
  .openapi("Index", { description: "A searchable index of image embeddings, one point per image" });

const route = createRoute({
  method: "get",
  path: "/v1/indexes",
  tags: ["retrievals"],
  summary: "The image indexes retrievals can search",
  description:
    "Every index this service holds, with its vector length: a retrieval's query (a model's flattened " +
    "`retrieval` output, or an `embedding`) must match it. Indexes are loaded by operators (`mindeye ingest`).",
  responses: {
    200: {
      description: "Indexes",
      content: {
        "application/json": {
          schema: z.object({ data: z.array(IndexResource).openapi({ description: "Every index" }) }),
          example: {
            data: [{ name: "sim01-stimuli", dim: 544, metric: "cosine", count: 3000, backend: "usearch" }],
          },
        },
      },
    },
    ...problemResponses(401, 502),
  },
});

export function registerListIndexes(app: App): void {
  app.openapi(route, async (c) => c.json({ data: await c.var.services.vectors.list() }, 200));
}
