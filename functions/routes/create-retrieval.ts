import { createRoute, z } from "@hono/zod-openapi";
import { ApiError } from "../../core/contracts/errors.ts";
import { decodeTensor } from "../../core/contracts/tensor.ts";
import { betasSourceOf } from "../../core/inference/betas-source.ts";
import { rowsOf } from "../../core/inference/embed-betas.ts";
import { planBetas } from "../../core/inference/plan-betas.ts";
import { retrieve } from "../../core/inference/retrieve.ts";
import type { PayloadFilter } from "../../core/search/vector-index.ts";
import { assertIndexExists } from "../../core/search/with-index.ts";
import type { App } from "../env.ts";
import { asksForJob } from "../jobs/asks-for-job.ts";
import { JobResource, jobCreatedResponses } from "../jobs/job-schemas.ts";
import { respondWithJob } from "../jobs/respond-with-job.ts";
import { limitBody } from "../middleware/body-limit.ts";
import { acceptContentTypes } from "../middleware/content-type.ts";
import { IdempotencyKeyHeaders } from "../middleware/idempotency.ts";
import { presentSearchHits } from "../presenters/search-hits.ts";
import { EXAMPLE_UPLOAD_ID, retrievalResponseExample } from "../schemas/examples.ts";
import { problemResponses } from "../schemas/problem.ts";
import { RetrievalRequest, RetrievalResponse } from "../schemas/retrievals.ts";

const route = createRoute({
  method: "post",
  path: "/v1/retrievals",
  tags: ["retrievals"],
  summary: "Nearest images in an index to the brain embedding of each trial (or to given embeddings)",
  description:
    "Embeds the betas with `model` (its `retrieval` output, flattened) and searches `index` for the k closest " +
    "images per trial, optionally within a payload `filter`; or searches with given `embedding` vectors. " +
    "`rerank` adds MindEye's second stage. Betas with more trials than a synchronous call takes, " +
    "`Prefer: respond-async` or a `webhook` run as a job (202) whose outputs are results.json.",
  middleware: [
    acceptContentTypes({ "application/json": "a RetrievalRequest" }),
    limitBody(32 * 1024 ** 2),
  ] as const,
  request: {
    headers: IdempotencyKeyHeaders,
    body: {
      content: {
        "application/json": {
          schema: RetrievalRequest,
          example: {
            index: "sim01-stimuli",
            k: 3,
            model: "sim01",
            betas: { upload_id: EXAMPLE_UPLOAD_ID, trials: [0, 1] },
          },
        },
      },
      required: true,
    },
  },
  responses: {
    200: {
      description: "The k best hits per query (or, run as a job with `Prefer: wait=N`, the finished job)",
      content: {
        "application/json": {
          schema: z.union([RetrievalResponse, JobResource]),
          example: retrievalResponseExample,
        },
      },
    },
    202: jobCreatedResponses("retrievals")[202],
    ...problemResponses(400, 401, 404, 409, 413, 415, 422, 502, 503),
  },
});

export function registerCreateRetrieval(app: App): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid("json");
    const { inference, uploads, blobs, vectors, limits, betasReader } = c.var.services;
    const deps = { inference, uploads, blobs, vectors, decodedMaxBytes: limits.decodedMaxBytes, betasReader };
    if (Boolean(body.betas) === Boolean(body.embedding)) {
      throw new ApiError(
        "invalid_request",
        "Send either `betas` (with `model`) or `embedding`, not both or neither.",
      );
    }
    if (body.betas && !body.model)
      throw new ApiError("invalid_request", "Name the `model` that embeds these betas.");
    if (body.rerank && !body.betas)
      throw new ApiError(
        "invalid_request",
        "The second stage re-embeds betas: send `betas`, not `embedding`.",
      );
    await assertIndexExists(vectors, body.index);
    if (body.rerank) await assertIndexExists(vectors, body.rerank.index);
    const filter = body.filter as PayloadFilter | undefined;
    if (body.betas) {
      const betas = betasSourceOf(body.betas, limits.syncBodyBytes / 4);
      // Every check that needs no betas read happens here, so nothing wrong is queued.
      const plan = await planBetas(deps, c.var.lab.id, body.model!, betas, body.preprocessing);
      if (plan.rows > limits.syncMaxTrials || asksForJob(c, body)) {
        const { embedding: _embedding, webhook, ...rest } = body;
        return respondWithJob(c, { kind: "retrievals", inputs: { ...rest, lab_id: c.var.lab.id }, webhook });
      }
      const retrieved = await retrieve(
        deps,
        c.var.lab.id,
        {
          index: body.index,
          k: body.k,
          filter,
          query: { kind: "betas", model: body.model!, betas, preprocessing: body.preprocessing },
          rerank: body.rerank,
        },
        { maxTrials: limits.syncMaxTrials, signal: c.req.raw.signal },
      );
      const results = await presentSearchHits(retrieved.results, blobs);
      return c.json({ index: body.index, model: body.model!, ...retrieved, results }, 200);
    }
    if (body.webhook) {
      throw new ApiError(
        "invalid_request",
        "A webhook is sent only by a job, and a retrieval by `embedding` runs at once: drop `webhook`, " +
          "or send `betas` with `model` to run it as a job.",
      );
    }
    const vectorsOfQuery = rowsOf(decodeTensor(body.embedding!, { maxValues: limits.syncBodyBytes / 4 }));
    const retrieved = await retrieve(deps, c.var.lab.id, {
      index: body.index,
      k: body.k,
      filter,
      query: { kind: "vectors", vectors: vectorsOfQuery },
    });
    const results = await presentSearchHits(retrieved.results, blobs);
    return c.json({ index: body.index, model: null, ...retrieved, results }, 200);
  });
}
