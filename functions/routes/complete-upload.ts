import { createRoute, z } from "@hono/zod-openapi";
import { completeUpload } from "../../core/uploads/complete-upload.ts";
import type { App } from "../env.ts";
import { JobResource, jobCreatedResponses } from "../jobs/job-schemas.ts";
import { parsePrefer } from "../jobs/prefer.ts";
import { respondWithJob } from "../jobs/respond-with-job.ts";
import { limitBody } from "../middleware/body-limit.ts";
import { acceptContentTypes } from "../middleware/content-type.ts";
import { IdempotencyKeyHeaders } from "../middleware/idempotency.ts";
import { presentUpload } from "../presenters/upload.ts";
import { readyUploadExample } from "../schemas/examples.ts";
import { problemResponses } from "../schemas/problem.ts";
import { CompleteUploadBody, UploadIdParam, UploadResource } from "../schemas/uploads.ts";

const route = createRoute({
  method: "post",
  path: "/v1/uploads/{id}/complete",
  tags: ["uploads"],
  summary: "Inspect an uploaded file: format, dtype, shape, trials, scaling, statistics",
  description:
    "Reading a large session takes seconds to a minute; with `Prefer: respond-async` it runs as a job " +
    "(`inspect_upload`) whose outputs are this summary, e.g. behind an API with a 30 s request limit.",
  middleware: [
    acceptContentTypes({ "application/json": "a CompleteUpload body, or none" }),
    limitBody(16 * 1024),
  ] as const,
  request: {
    headers: IdempotencyKeyHeaders,
    params: UploadIdParam,
    body: {
      content: { "application/json": { schema: CompleteUploadBody, example: { model: "sim01" } } },
      required: false,
    },
  },
  responses: {
    200: {
      description: "The file was read; its summary (or, as a job with `Prefer: wait=N`, the finished job)",
      content: {
        "application/json": { schema: z.union([UploadResource, JobResource]), example: readyUploadExample },
      },
    },
    202: jobCreatedResponses("inspect_upload")[202],
    ...problemResponses(400, 401, 404, 409, 413, 415, 422),
  },
});

export function registerCompleteUpload(app: App): void {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const body = (c.req.header("content-type")?.includes("json") ? c.req.valid("json") : undefined) ?? {};
    const { uploads, blobs, inference, limits, betasReader } = c.var.services;
    if (parsePrefer(c.req.header("prefer")).respondAsync) {
      await uploads.get(c.var.lab.id, id);
      return respondWithJob(c, {
        kind: "inspect_upload",
        inputs: { ...body, upload_id: id, lab_id: c.var.lab.id },
      });
    }
    const deps = { uploads, blobs, inference, decodedMaxBytes: limits.decodedMaxBytes, betasReader };
    return c.json(presentUpload(await completeUpload(deps, c.var.lab.id, id, body)), 200);
  });
}
