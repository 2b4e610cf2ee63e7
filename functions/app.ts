import { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../core/contracts/errors.ts";
import type { App, AppEnv } from "./env.ts";
import { accessLog } from "./middleware/access-log.ts";
import { registerAuditTrail } from "./middleware/audit-trail.ts";
import { requireApiKey } from "./middleware/auth.ts";
import { idempotencyKey } from "./middleware/idempotency-key.ts";
import { guardInput } from "./middleware/input-guard.ts";
import { rateLimit } from "./middleware/rate-limit.ts";
import { requestId } from "./middleware/request-id.ts";
import { problemResponse, validationError } from "./problem.ts";
import { BLOB_ROUTE_PREFIX, registerBlobs } from "./routes/blobs.ts";
import { registerCancelJob } from "./routes/cancel-job.ts";
import { registerCompleteUpload } from "./routes/complete-upload.ts";
import { registerCreateCandidateRetrieval } from "./routes/create-candidate-retrieval.ts";
import { registerCreateEmbeddings } from "./routes/create-embeddings.ts";
import { registerCreateReconstruction } from "./routes/create-reconstruction.ts";
import { registerCreateRetrieval } from "./routes/create-retrieval.ts";
import { registerCreateUpload } from "./routes/create-upload.ts";
import { registerDeleteJob } from "./routes/delete-job.ts";
import { registerDeleteUpload } from "./routes/delete-upload.ts";
import { registerDocs } from "./routes/docs.ts";
import { registerGetJob } from "./routes/get-job.ts";
import { registerGetJobEvents } from "./routes/get-job-events.ts";
import { registerGetJobResults } from "./routes/get-job-results.ts";
import { registerGetLab } from "./routes/get-lab.ts";
import { registerGetModel } from "./routes/get-model.ts";
import { registerGetModelMask } from "./routes/get-model-mask.ts";
import { registerGetUpload } from "./routes/get-upload.ts";
import { registerGetWebhookSecret } from "./routes/get-webhook-secret.ts";
import { registerHealthz } from "./routes/healthz.ts";
import { registerListAuditEvents } from "./routes/list-audit-events.ts";
import { registerListIndexes } from "./routes/list-indexes.ts";
import { registerListJobDeliveries } from "./routes/list-job-deliveries.ts";
import { registerListJobs } from "./routes/list-jobs.ts";
import { registerListModels } from "./routes/list-models.ts";
import { registerMetrics } from "./routes/metrics.ts";
import { registerReadyz } from "./routes/readyz.ts";
import { registerRedeliverJobEvent } from "./routes/redeliver-job-event.ts";
import { registerRotateWebhookSecret } from "./routes/rotate-webhook-secret.ts";
import type { AppServices } from "./services.ts";

/** The public HTTP API. The same app runs on @hono/node-server, on Lambda, and in tests via `app.request()`. */
export function createApp(services: AppServices): App {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.target, result.error);
    },
  });

  // Each layer costs an async step per request in Hono's compose, so the services and the request id
  // share one, and a layer that would do nothing in this configuration is not registered.
  const withRequestId = requestId();
  app.use("*", (c, next) => {
    c.set("services", services);
    return withRequestId(c, next);
  });
  app.use("*", accessLog());
  app.use("*", guardInput());
  // Presigned blob URLs carry their own authorization (the signature), so they take no API key.
  const unlessBlob =
    (middleware: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> =>
    (c, next) =>
      c.req.path.startsWith(BLOB_ROUTE_PREFIX) ? next() : middleware(c, next);
  app.use("/v1/*", unlessBlob(requireApiKey()));
  if (services.rateLimiter) app.use("/v1/*", unlessBlob(rateLimit(services.rateLimiter)));
  registerAuditTrail(app);
  app.on("POST", "/v1/*", idempotencyKey());

  app.onError((error, c) => problemResponse(c, c.var.refusedBody ?? error));
  app.notFound((c) =>
    problemResponse(
      c,
      new ApiError(
        "not_found",
        `There is no route ${c.req.method} ${c.req.path}. The API reference is at /docs.`,
      ),
    ),
  );

  registerHealthz(app);
  registerReadyz(app);
  registerMetrics(app);
  registerDocs(app);
  registerBlobs(app);
  registerGetLab(app);
  registerListModels(app);
  registerGetModel(app);
  registerGetModelMask(app);
  registerCreateEmbeddings(app);
  registerListIndexes(app);
  registerCreateRetrieval(app);
  registerCreateCandidateRetrieval(app);
  registerCreateReconstruction(app);
  registerCreateUpload(app);
  registerCompleteUpload(app);
  registerGetUpload(app);
  registerDeleteUpload(app);
  registerListJobs(app);
  registerGetJob(app);
  registerCancelJob(app);
  registerDeleteJob(app);
  registerGetJobEvents(app);
  registerGetJobResults(app);
  registerListJobDeliveries(app);
  registerRedeliverJobEvent(app);
  registerGetWebhookSecret(app);
  registerRotateWebhookSecret(app);
  registerListAuditEvents(app);
  return app;
}
