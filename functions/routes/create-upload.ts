import { createRoute } from "@hono/zod-openapi";
import { ApiError } from "../../core/contracts/errors.ts";
import { UploadStore } from "../../core/uploads/upload-store.ts";
import type { App } from "../env.ts";
import { limitBody } from "../middleware/body-limit.ts";
import { acceptContentTypes } from "../middleware/content-type.ts";
import {
  IDEMPOTENCY_PROBLEM_STATUSES,
  IdempotencyKeyHeaders,
  idempotent,
} from "../middleware/idempotency.ts";
import { presentUpload } from "../presenters/upload.ts";
import { pendingUploadExample } from "../schemas/examples.ts";
import { problemResponses } from "../schemas/problem.ts";
import { CreateUploadBody, PresignedUpload, UploadResource } from "../schemas/uploads.ts";

const UPLOAD_URL_TTL_SECONDS = 3600;

const route = createRoute({
  method: "post",
  path: "/v1/uploads",
  tags: ["uploads"],
  summary: "Start an upload: returns a presigned URL to PUT the file to",
  description:
    "For sessions too large to send inline (NIfTI, HDF5 or MAT v7.3, NPY/NPZ, raw float32). PUT the file's " +
    "exact `size` bytes to `upload.url` with `upload.headers`, then POST /v1/uploads/{id}/complete to have it " +
    "read. The URL is valid for an hour; the file is kept until `expires_at`.",
  middleware: [
    acceptContentTypes({ "application/json": 'a CreateUpload body {"filename", "size", "content_type"?}' }),
    limitBody(16 * 1024),
  ] as const,
  request: {
    headers: IdempotencyKeyHeaders,
    body: {
      content: {
        "application/json": {
          schema: CreateUploadBody,
          example: { filename: "betas_session01.nii.gz", size: 3761406, content_type: "application/gzip" },
        },
      },
      required: true,
    },
  },
  responses: {
    201: {
      description: "Upload created; PUT the file to upload.url, then POST /v1/uploads/{id}/complete",
      content: {
        "application/json": {
          schema: UploadResource.extend({ upload: PresignedUpload }),
          example: pendingUploadExample,
        },
      },
    },
    ...problemResponses(400, 401, 413, 415, ...IDEMPOTENCY_PROBLEM_STATUSES),
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
    const created = await idempotent(c, async (tx) => {
      // Inside an idempotent request the upload is written in the transaction that records the response.
      const store = tx ? new UploadStore(tx) : uploads;
      const upload = await store.create(
        c.var.lab.id,
        { ...body, contentType: body.content_type },
        limits.uploadTtlHours,
        UPLOAD_URL_TTL_SECONDS,
      );
      const put = await blobs.presignPut(upload.blobKey, {
        expiresInSeconds: UPLOAD_URL_TTL_SECONDS,
        maxBytes: body.size,
        contentType: body.content_type,
      });
      const presigned = {
        url: put.url,
        method: "PUT" as const,
        headers: put.headers,
        expires_at: put.expiresAt.toISOString(),
      };
      return { status: 201 as const, body: { ...presentUpload(upload), upload: presigned } };
    });
    return c.json(created.body, created.status);
  });
}
