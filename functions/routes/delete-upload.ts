import { createRoute } from "@hono/zod-openapi";
import { deleteUpload } from "../../core/uploads/delete-upload.ts";
import type { App } from "../env.ts";
import { problemResponses } from "../schemas/problem.ts";
import { UploadIdParam } from "../schemas/uploads.ts";

const route = createRoute({
  method: "delete",
  path: "/v1/uploads/{id}",
  tags: ["uploads"],
  summary: "Delete an upload, its file, and the finished jobs derived from it with their outputs",
  description:
    "The presigned PUT URL stops working. Refused (409) while a job on the upload is queued or running: " +
    "cancel it first. Responses stored for Idempotency-Key replay are kept until the key expires (24 h).",
  request: { params: UploadIdParam },
  responses: { 204: { description: "Deleted" }, ...problemResponses(401, 404, 409) },
});

export function registerDeleteUpload(app: App): void {
  app.openapi(route, async (c) => {
    const { uploads, jobs, blobs } = c.var.services;
    await deleteUpload({ uploads, jobs, blobs }, c.var.lab.id, c.req.valid("param").id);
    return c.body(null, 204);
  });
}
