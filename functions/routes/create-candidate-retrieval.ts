import { createRoute } from "@hono/zod-openapi";
import { ApiError } from "../../core/contracts/errors.ts";
import { decodeTensor } from "../../core/contracts/tensor.ts";
import { betasSourceOf } from "../../core/inference/betas-source.ts";
import { retrievalQueries, rowsOf } from "../../core/inference/embed-for-search.ts";
import { candidateSetRetrieval } from "../../core/search/retrieval-scoring.ts";
import type { App } from "../env.ts";
import { limitBody } from "../middleware/body-limit.ts";
import { problemResponses } from "../schemas/problem.ts";
import { CandidateRetrievalRequest, CandidateRetrievalResponse } from "../schemas/retrievals.ts";

const route = createRoute({
  method: "post",
  path: "/v1/retrievals/candidates",
  tags: ["retrievals"],
  summary: "MindEye's N-way evaluation: rank of each trial's image among N candidates, both directions",
  middleware: [limitBody(64 * 1024 ** 2)] as const,
  request: {
    body: { content: { "application/json": { schema: CandidateRetrievalRequest } }, required: true },
  },
  responses: {
    200: {
      description: "Ranks and top-1 accuracy",
      content: { "application/json": { schema: CandidateRetrievalResponse } },
    },
    ...problemResponses(400, 401, 404, 409, 413, 422, 503),
  },
});

export function registerCreateCandidateRetrieval(app: App): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid("json");
    const { inference, uploads, blobs, limits } = c.var.services;
    const candidates = rowsOf(decodeTensor(body.candidates, { maxValues: (64 * 1024 ** 2) / 4 }));
    const { queries, prepared } = await retrievalQueries(
      { inference, uploads, blobs, decodedMaxBytes: limits.decodedMaxBytes },
      c.var.lab.id,
      body.model,
      betasSourceOf(body.betas, limits.syncBodyBytes / 4),
      body.preprocessing,
      // The paper's evaluation is 300-way: allow a whole candidate set in one call.
      { maxTrials: Math.max(limits.syncMaxTrials, 3 * candidates.length) },
      c.req.raw.signal,
    );
    if (queries.length !== candidates.length || queries[0]!.length !== candidates[0]!.length) {
      throw new ApiError(
        "invalid_request",
        `Need one candidate per trial (after averaging) in the model's retrieval space: ${queries.length} trials of ` +
          `${queries[0]!.length} values, but ${candidates.length} candidates of ${candidates[0]!.length}.`,
      );
    }
    const scores = candidateSetRetrieval(queries, candidates);
    return c.json(
      {
        model: body.model,
        candidates: candidates.length,
        chance: 1 / candidates.length,
        image_retrieval: scores.imageRetrieval,
        brain_retrieval: scores.brainRetrieval,
        preprocessing: { ...prepared.applied, input_trials: prepared.inputTrials },
      },
      200,
    );
  });
}
