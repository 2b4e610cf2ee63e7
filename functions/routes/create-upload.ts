import { createRoute } from "@hono/zod-openapi";
import { ApiError } from "../../core/contracts/errors.ts";
import type { App } from "../env.ts";
import { limitBody } from "../middleware/body-limit.ts";
import { presentUpload } from "../presenters/upload.ts";
import { problemResponses } from "../schemas/problem.ts";
import { CreateUploadBody, PresignedUpload, UploadResource } from "../schemas/uploads.ts";

const UPLOAD_URL_TTL_SECONDS = 3600;

const route = createRoute({
  method: "post",
  path: "/v1/uploads",
  tags: ["uploads"],
  summary: "Start an upload: returns a presigned URL to PUT the file to",
  middleware: [limitBody(16 * 1024)] as const,
  request: { body: { content: { "application/json": { schema: CreateUploadBody } }, required: true } },
  responses: {
    201: {
      description: "Upload created; PUT the file to upload.url, then POST /v1/uploads/{id}/complete",
      content: { "application/json": { schema: UploadResource.extend({ upload: PresignedUpload }) } },
    },
    ...problemResponses(400, 401, 413),
  },
});

export function registerCreateUpload(app: App): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid("json");
    const { uploads, blobs, limits } = c.var.services;
    if (body.size > limits.uploadMaxBytes) {
      throw new ApiError(
        "payload_too_large",
        `Uploads are limited to ${limits.uploadMaxBytes} bytes; this file is ${body.size}. Split the session into several files.`,
        { fields: { limit_bytes: limits.uploadMaxBytes } },
      );
    }
    const upload = await uploads.create(
      c.var.lab.id,
      { ...body, contentType: body.content_type },
      limits.uploadTtlHours,
    );
    const put = await blobs.presignPut(upload.blobKey, {
      expiresInSeconds: UPLOAD_URL_TTL_SECONDS,
      maxBytes: body.size,
      contentType: body.content_type,
    });
    return c.json(
      {
        ...presentUpload(upload),
        upload: {
          url: put.url,
          method: "PUT" as const,
          headers: put.headers,
          expires_at: put.expiresAt.toISOString(),
        },
      },
      201,
    );
  });
}
