import { createRoute } from "@hono/zod-openapi";
import type { App } from "../env.ts";
import { presentModel } from "../presenters/model.ts";
import { modelExample } from "../schemas/examples.ts";
import { ModelIdParam, ModelResource } from "../schemas/models.ts";
import { problemResponses } from "../schemas/problem.ts";

const route = createRoute({
  method: "get",
  path: "/v1/models/{id}",
  tags: ["models"],
  summary: "One model: input space, outputs, version and file hashes",
  description: "The entry of GET /v1/models for one model; 404 model_not_found names the models there are.",
  request: { params: ModelIdParam },
  responses: {
    200: {
      description: "The model",
      content: { "application/json": { schema: ModelResource, example: modelExample } },
    },
    ...problemResponses(401, 404),
  },
});

export function registerGetModel(app: App): void {
  app.openapi(route, async (c) => {
    const model = await c.var.services.inference.getModel(c.req.valid("param").id);
    return c.json(presentModel(model, new URL(c.req.url).origin), 200);
  });
}
