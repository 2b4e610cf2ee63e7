import { createRoute, type z } from "@hono/zod-openapi";
import { betasSourceOf } from "../../core/inference/betas-source.ts";
import { planBetas } from "../../core/inference/plan-betas.ts";
import { assertCanReconstruct } from "../../core/inference/reconstructor.ts";
import type { App } from "../env.ts";
import { jobCreatedResponses } from "../jobs/job-schemas.ts";
import { respondWithJob } from "../jobs/respond-with-job.ts";
import { limitBody } from "../middleware/body-limit.ts";
import { acceptContentTypes } from "../middleware/content-type.ts";
import { IdempotencyKeyHeaders } from "../middleware/idempotency.ts";
import { problemResponses } from "../schemas/problem.ts";
import { ReconstructionOutputs, ReconstructionRequest } from "../schemas/reconstructions.ts";

const route = createRoute({
  method: "post",
  path: "/v1/reconstructions",
  tags: ["reconstructions"],
  summary: "Reconstruct the seen images from betas (always a job)",
  description:
    "Each input (a row of betas after averaging) is reconstructed in turn by the diffusion prior and the " +
    "image decoder, the best of `samples` candidates chosen by CLIP similarity. Answers 202 with the job " +
    "(`Prefer: wait=N` waits up to N seconds for it). Its `progress_detail` names the input, stage and step " +
    "(and, with `previews`, the latest preview's signed URL); inputs done so far are in `outputs`; a cancel " +
    "takes effect between steps. The finished job's outputs are ReconstructionOutputs: signed URLs to PNGs " +
    "and a scores.json.",
  middleware: [
    acceptContentTypes({ "application/json": "a ReconstructionRequest" }),
    limitBody(32 * 1024 ** 2, "Upload large sessions (POST /v1/uploads) and send their upload_id."),
  ] as const,
  request: {
    headers: IdempotencyKeyHeaders,
    body: { content: { "application/json": { schema: ReconstructionRequest } }, required: true },
  },
  responses: {
    ...jobCreatedResponses("reconstructions"),
    ...problemResponses(400, 401, 404, 409, 413, 415, 422, 503),
  },
});

export function registerCreateReconstruction(app: App): void {
  // Documented as a schema of its own: job outputs are untyped in the Job resource.
  app.openAPIRegistry.register("ReconstructionOutputs", ReconstructionOutputs);
  app.openapi(route, async (c) => {
    const { webhook, deadline_seconds, ...request } = c.req.valid("json") as z.infer<
      typeof ReconstructionRequest
    >;
    const { inference, uploads, blobs, limits, betasReader } = c.var.services;
    const deps = { inference, uploads, blobs, decodedMaxBytes: limits.decodedMaxBytes, betasReader };
    const source = betasSourceOf(request.betas, limits.syncBodyBytes / 4);
    // Every check that needs no betas read happens here, so nothing wrong is queued.
    const plan = await planBetas(deps, c.var.lab.id, request.model, source, request.preprocessing);
    assertCanReconstruct(plan.model);
    // Settings left out are the model's own, resolved now so the job records what it ran with.
    const settings = { ...plan.model.reconstruction_defaults, ...request };
    return respondWithJob(c, {
      kind: "reconstructions",
      inputs: { ...settings, lab_id: c.var.lab.id },
      webhook,
      ...(deadline_seconds && { deadline: new Date(Date.now() + deadline_seconds * 1000) }),
    });
  });
}
