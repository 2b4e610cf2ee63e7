import { createRoute } from "@hono/zod-openapi";
import { ApiError } from "../../core/contracts/errors.ts";
import { decodeTensor } from "../../core/contracts/tensor.ts";
import { betasSourceOf } from "../../core/inference/betas-source.ts";
import { embedBetas, rowsOf } from "../../core/inference/embed-betas.ts";
import { planBetas } from "../../core/inference/plan-betas.ts";
import { candidateSetRetrieval } from "../../core/search/retrieval-scoring.ts";
import type { App } from "../env.ts";
import { limitBody } from "../middleware/body-limit.ts";
import { acceptContentTypes } from "../middleware/content-type.ts";
import { EXAMPLE_UPLOAD_ID, preprocessingAppliedExample } from "../schemas/examples.ts";
import { problemResponses } from "../schemas/problem.ts";
import { CandidateRetrievalRequest, CandidateRetrievalResponse } from "../schemas/retrievals.ts";

const route = createRoute({
  method: "post",
  path: "/v1/retrievals/candidates",
  tags: ["retrievals"],
  summary: "MindEye's N-way evaluation: rank of each trial's image among N candidates, both directions",
  description:
    "Image retrieval (the paper's name): for each brain sample, rank the N images; brain retrieval: for each " +
    "image, rank the N brain samples. The paper's 300 x 257 x 768 candidates go by upload (`{upload_id}`).",
  middleware: [
    acceptContentTypes({ "application/json": "a CandidateRetrievalRequest" }),
    limitBody(64 * 1024 ** 2, 'Upload the candidates as .npy (POST /v1/uploads) and send {"upload_id"}.'),
  ] as const,
  request: {
    body: {
      content: {
        "application/json": {
          schema: CandidateRetrievalRequest,
          example: {
            model: "sim01",
            betas: { upload_id: EXAMPLE_UPLOAD_ID, trials: [3, 9, 14, 21, 30, 42, 57, 61] },
            candidates: { upload_id: "upl_c7dq2m8x5k4n3vb6" },
          },
        },
      },
      required: true,
    },
  },
  responses: {
    200: {
      description: "Ranks and top-1 accuracy",
      content: {
        "application/json": {
          schema: CandidateRetrievalResponse,
          example: {
            model: "sim01",
            candidates: 8,
            chance: 0.125,
            image_retrieval: { top1: 0.75, ranks: [1, 1, 2, 1, 1, 1, 3, 1] },
            brain_retrieval: { top1: 0.625, ranks: [1, 2, 1, 1, 2, 1, 1, 4] },
            preprocessing: { ...preprocessingAppliedExample, input_trials: 8 },
            warnings: [],
          },
        },
      },
    },
    ...problemResponses(400, 401, 404, 409, 413, 415, 422, 503),
  },
});

export function registerCreateCandidateRetrieval(app: App): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid("json");
    const { inference, uploads, blobs, limits, betasReader } = c.var.services;
    const deps = { inference, uploads, blobs, decodedMaxBytes: limits.decodedMaxBytes, betasReader };
    const labId = c.var.lab.id;
    const plan = await planBetas(
      deps,
      labId,
      body.model,
      betasSourceOf(body.betas, limits.syncBodyBytes / 4),
      body.preprocessing,
    );
    const samples = body.preprocessing?.average?.length ?? plan.rows;
    const width = plan.model.outputs.retrieval.shape.reduce((a, b) => a * b, 1);
    // Known before any betas or candidates are read: the count from the upload's summary or the tensor.
    const declared =
      "upload_id" in body.candidates
        ? (await uploads.getReady(labId, body.candidates.upload_id)).summary.shape
        : "shape" in body.candidates
          ? body.candidates.shape
          : [body.candidates.values.length];
    if (declared[0] !== samples) {
      throw new ApiError(
        "invalid_request",
        `Need one candidate per brain sample (trial after averaging): ${samples} samples, but ${declared[0]} candidates.`,
        { fields: { samples, candidates: declared[0] } },
      );
    }
    const { outputs, prepared } = await embedBetas(deps, plan, ["retrieval"], {
      // The paper's evaluation is 300-way (900 trials before averaging): allow a whole set in one call.
      maxTrials: Math.max(limits.syncMaxTrials, 3 * samples),
      signal: c.req.raw.signal,
    });
    const array =
      "upload_id" in body.candidates
        ? await betasReader.readUploadArray(
            blobs,
            await uploads.getReady(labId, body.candidates.upload_id),
            limits.decodedMaxBytes,
          )
        : decodeTensor(body.candidates, { maxValues: (64 * 1024 ** 2) / 4 });
    const candidates = rowsOf(array);
    if (candidates.length !== samples || candidates[0]!.length !== width) {
      throw new ApiError(
        "invalid_request",
        `Candidates are [N, ${plan.model.outputs.retrieval.shape.join(", ")}] (or [N, ${width}]) in ${body.model}'s ` +
          `retrieval space, one per sample; got [${array.shape.join(", ")}].`,
      );
    }
    const scores = candidateSetRetrieval(rowsOf(outputs.retrieval!), candidates);
    return c.json(
      {
        model: body.model,
        candidates: candidates.length,
        chance: 1 / candidates.length,
        image_retrieval: scores.imageRetrieval,
        brain_retrieval: scores.brainRetrieval,
        preprocessing: { ...prepared.applied, input_trials: prepared.inputTrials },
        warnings: prepared.warnings,
      },
      200,
    );
  });
}
