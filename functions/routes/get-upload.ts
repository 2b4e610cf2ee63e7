import { createRoute } from "@hono/zod-openapi";
import type { App } from "../env.ts";
import { presentUpload } from "../presenters/upload.ts";
import { readyUploadExample } from "../schemas/examples.ts";
import { problemResponses } from "../schemas/problem.ts";
import { UploadIdParam, UploadResource } from "../schemas/uploads.ts";

const route = createRoute({
  method: "get",
  path: "/v1/uploads/{id}",
  tags: ["uploads"],
  summary: "An upload and, once complete, what was found in it",
  description:
    "The upload's record; after `complete`, the format, shape, trials, scaling and statistics read.",
  request: { params: UploadIdParam },
  responses: {
    200: {
      description: "The upload",
      content: { "application/json": { schema: UploadResource, example: readyUploadExample } },
    },
    ...problemResponses(401, 404),
  },
});

export function registerGetUpload(app: App): void {
  app.openapi(route, async (c) => {
    const upload = await c.var.services.uploads.get(c.var.lab.id, c.req.valid("param").id);
    return c.json(presentUpload(upload), 200);
  });
}
