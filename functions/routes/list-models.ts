import { createRoute, z } from "@hono/zod-openapi";
import type { App } from "../env.ts";
import { presentModel } from "../presenters/model.ts";
import { modelExample } from "../schemas/examples.ts";
import { ModelResource } from "../schemas/models.ts";
import { problemResponses } from "../schemas/problem.ts";

const route = createRoute({
  method: "get",
  path: "/v1/models",
  tags: ["models"],
  summary: "The models served: what each accepts and produces",
  description:
    "One entry per subject's model: how many voxels a trial must have (and the mask that picks them from the " +
    "volume), the embeddings it returns, and whether it can retrieve and reconstruct.",
  responses: {
    200: {
      description: "Models",
      content: {
        "application/json": {
          schema: z.object({ data: z.array(ModelResource).openapi({ description: "Every model" }) }),
          example: { data: [modelExample] },
        },
      },
    },
    ...problemResponses(401),
  },
});

export function registerListModels(app: App): void {
  app.openapi(route, async (c) => {
    const origin = new URL(c.req.url).origin;
    const models = await c.var.services.inference.listModels();
    return c.json({ data: models.map((m) => presentModel(m, origin)) }, 200);
  });
}
