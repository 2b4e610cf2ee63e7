import { createRoute } from "@hono/zod-openapi";
import { modelInputSpace } from "../../core/inference/model-space.ts";
import { inspectUpload } from "../../core/uploads/read-upload.ts";
import type { App } from "../env.ts";
import { limitBody } from "../middleware/body-limit.ts";
import { presentUpload } from "../presenters/upload.ts";
import { problemResponses } from "../schemas/problem.ts";
import { CompleteUploadBody, UploadIdParam, UploadResource } from "../schemas/uploads.ts";

const route = createRoute({
  method: "post",
  path: "/v1/uploads/{id}/complete",
  tags: ["uploads"],
  summary: "Inspect an uploaded file: format, dtype, shape, trials, scaling, statistics",
  middleware: [limitBody(16 * 1024)] as const,
  request: {
    params: UploadIdParam,
    body: { content: { "application/json": { schema: CompleteUploadBody } }, required: false },
  },
  responses: {
    200: {
      description: "The file was read; its summary",
      content: { "application/json": { schema: UploadResource } },
    },
    ...problemResponses(400, 401, 404, 409, 413, 415, 422),
  },
});

export function registerCompleteUpload(app: App): void {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const body = (c.req.header("content-type")?.includes("json") ? c.req.valid("json") : undefined) ?? {};
    const { uploads, blobs, inference, limits } = c.var.services;
    const upload = await uploads.get(c.var.lab.id, id);
    const model = body.model
      ? { id: body.model, space: await modelInputSpace(inference, body.model) }
      : undefined;
    const summary = await inspectUpload(
      blobs,
      upload,
      { dataset: body.dataset, layout: body.layout, raw_shape: body.raw_shape },
      model,
      limits.decodedMaxBytes,
    );
    return c.json(presentUpload(await uploads.markReady(c.var.lab.id, id, summary)), 200);
  });
}
