import { createRoute } from "@hono/zod-openapi";
import type { App } from "../env.ts";
import { problemResponses } from "../schemas/problem.ts";
import { UploadIdParam } from "../schemas/uploads.ts";

const route = createRoute({
  method: "delete",
  path: "/v1/uploads/{id}",
  tags: ["uploads"],
  summary: "Delete an upload and its file; its presigned PUT URL stops working",
  request: { params: UploadIdParam },
  responses: { 204: { description: "Deleted" }, ...problemResponses(401, 404) },
});

export function registerDeleteUpload(app: App): void {
  app.openapi(route, async (c) => {
    const upload = await c.var.services.uploads.delete(c.var.lab.id, c.req.valid("param").id);
    await c.var.services.blobs.delete(upload.blobKey);
    return c.body(null, 204);
  });
}
