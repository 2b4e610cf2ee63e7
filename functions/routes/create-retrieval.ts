import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ApiError } from "../../core/contracts/errors.ts";
import { decodeTensor } from "../../core/contracts/tensor.ts";
import { betasSourceOf } from "../../core/inference/betas-source.ts";
import { retrievalQueries, rowsOf } from "../../core/inference/embed-for-search.ts";
import { rerankAmongCandidates } from "../../core/search/second-stage.ts";
import type { PayloadFilter } from "../../core/search/vector-index.ts";
import { assertIndexExists, withIndex } from "../../core/search/with-index.ts";
import type { App, AppEnv } from "../env.ts";
import { asksForJob } from "../jobs/asks-for-job.ts";
import { JobResource, jobCreatedResponses } from "../jobs/job-schemas.ts";
import { respondWithJob } from "../jobs/respond-with-job.ts";
import { limitBody } from "../middleware/body-limit.ts";
import { IdempotencyKeyHeaders } from "../middleware/idempotency.ts";
import { problemResponses } from "../schemas/problem.ts";
import { RetrievalRequest, RetrievalResponse } from "../schemas/retrievals.ts";

const route = createRoute({
  method: "post",
  path: "/v1/retrievals",
  tags: ["retrievals"],
  summary: "Nearest images in an index to the brain embedding of each trial (or to given embeddings)",
  middleware: [limitBody(32 * 1024 ** 2)] as const,
  request: {
    headers: IdempotencyKeyHeaders,
    body: { content: { "application/json": { schema: RetrievalRequest } }, required: true },
  },
  responses: {
    200: {
      description: "The k best hits per query (or, run as a job with `Prefer: wait=N`, the finished job)",
      content: { "application/json": { schema: z.union([RetrievalResponse, JobResource]) } },
    },
    202: jobCreatedResponses[202],
    ...problemResponses(400, 401, 404, 409, 413, 422, 502, 503),
  },
});

/** Betas of more trials than a synchronous call takes, `Prefer: respond-async` or a `webhook`, run as a job. */
async function runsAsync(c: Context<AppEnv>, body: z.infer<typeof RetrievalRequest>) {
  const betas = body.betas!;
  if (asksForJob(c, body)) return true;
  const trials =
    "upload_id" in betas
      ? (betas.trials?.length ??
        (await c.var.services.uploads.getReady(c.var.lab.id, betas.upload_id)).summary.trials)
      : "values" in betas
        ? betas.values.length
        : betas.shape[0]!;
  return trials > c.var.services.limits.syncMaxTrials;
}

export function registerCreateRetrieval(app: App): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid("json");
    const { inference, uploads, blobs, vectors, limits } = c.var.services;
    if (Boolean(body.betas) === Boolean(body.embedding)) {
      throw new ApiError(
        "invalid_request",
        "Send either `betas` (with `model`) or `embedding`, not both or neither.",
      );
    }
    await assertIndexExists(vectors, body.index);
    if (body.rerank) {
      if (!body.betas)
        throw new ApiError(
          "invalid_request",
          "The second stage re-embeds betas: send `betas`, not `embedding`.",
        );
      await assertIndexExists(vectors, body.rerank.index);
    }
    if (body.betas && body.model && !body.rerank && (await runsAsync(c, body))) {
      const { embedding: _embedding, webhook, ...rest } = body;
      return respondWithJob(c, { kind: "retrievals", inputs: { ...rest, lab_id: c.var.lab.id }, webhook });
    }
    if (body.webhook) {
      throw new ApiError(
        "invalid_request",
        "A webhook is sent only by a job, and only a retrieval from `betas` with `model` and without " +
          "`rerank` runs as one. Drop `webhook` to get the answer in this response.",
      );
    }
    let queries: Float32Array[];
    let preprocessing: Record<string, unknown> | null = null;
    const deps = { inference, uploads, blobs, decodedMaxBytes: limits.decodedMaxBytes };
    const embedWith = (model: string) =>
      retrievalQueries(
        deps,
        c.var.lab.id,
        model,
        betasSourceOf(body.betas!, limits.syncBodyBytes / 4),
        body.preprocessing,
        { maxTrials: limits.syncMaxTrials },
        c.req.raw.signal,
      );
    if (body.betas) {
      if (!body.model) throw new ApiError("invalid_request", "Name the `model` that embeds these betas.");
      const embedded = await embedWith(body.model);
      queries = embedded.queries;
      preprocessing = { ...embedded.prepared.applied, input_trials: embedded.prepared.inputTrials };
    } else {
      queries = rowsOf(decodeTensor(body.embedding!, { maxValues: limits.syncBodyBytes / 4 }));
    }
    const results = await withIndex(vectors, body.index, async (index) => {
      const width = queries[0]!.length;
      if (width !== index.dim) {
        throw new ApiError(
          "invalid_vector",
          `Index ${body.index} holds ${index.dim}-d vectors; the queries are ${width}-d. ` +
            "Use a model whose retrieval space matches the index (GET /v1/models, GET /v1/indexes).",
          { fields: { index_dim: index.dim, query_dim: width } },
        );
      }
      return index.queryBatch(queries, {
        k: body.rerank ? Math.max(body.k, body.rerank.candidates) : body.k,
        filter: body.filter as PayloadFilter | undefined,
      });
    });
    if (body.rerank) {
      const { rerank } = body;
      const tokenQueries = (await embedWith(rerank.model)).queries;
      const reranked = await withIndex(vectors, rerank.index, (tokenIndex) =>
        rerankAmongCandidates(tokenIndex, tokenQueries, results, rerank.key, body.k),
      );
      return c.json({ index: body.index, model: body.model ?? null, results: reranked, preprocessing }, 200);
    }
    return c.json({ index: body.index, model: body.model ?? null, results, preprocessing }, 200);
  });
}
