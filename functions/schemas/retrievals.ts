import { z } from "@hono/zod-openapi";
import { closedObject } from "../../core/contracts/closed-object.ts";
import { Betas, Preprocessing, Tensor, Warning, Webhook } from "./embeddings.ts";

const PayloadValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const RetrievalRequest = closedObject({
  index: z.string().openapi({ example: "sim01-stimuli" }),
  k: z.number().int().min(1).max(1000).default(10),
  model: z.string().optional().openapi({ description: "Required with betas" }),
  betas: Betas.optional(),
  embedding: Tensor.optional().openapi({
    description: "Query vectors instead of betas: [n, dim] or [dim]",
  }),
  preprocessing: Preprocessing.optional(),
  filter: z
    .record(z.string(), z.union([PayloadValue, closedObject({ in: z.array(PayloadValue) })]))
    .optional()
    .openapi({ description: "Payload conditions, all of which must hold: equality, or {in: [...]}" }),
  webhook: Webhook.optional(),
  rerank: closedObject({
    model: z
      .string()
      .openapi({ description: "The token-space model (MindEye1's 257x768) embedding the same betas" }),
    index: z.string().openapi({ description: "Index of the candidates' flattened tokens" }),
    key: z
      .string()
      .default("image_id")
      .openapi({ description: "Payload field naming the same image in both indexes" }),
    candidates: z.number().int().min(1).max(1000).default(16),
  })
    .optional()
    .openapi({
      description:
        "MindEye's second stage: take `candidates` first-stage hits, re-order them by token similarity " +
        "(betas only)",
    }),
}).openapi("RetrievalRequest");

export const SearchHit = z.object({
  id: z.union([z.string(), z.number()]),
  score: z.number(),
  payload: z.record(z.string(), PayloadValue),
  first_stage_rank: z
    .number()
    .int()
    .nullable()
    .optional()
    .openapi({ description: "With rerank: the hit's rank in the first stage" }),
});

export const RetrievalResponse = z
  .object({
    index: z.string(),
    model: z.string().nullable(),
    results: z.array(z.array(SearchHit)).openapi({ description: "Per query (trial), the k best hits" }),
    preprocessing: z.record(z.string(), z.unknown()).nullable(),
    warnings: z.array(Warning),
  })
  .openapi("RetrievalResponse");

export const CandidateUpload = closedObject({
  upload_id: z.string().openapi({
    description: "A completed upload of an .npy [N, tokens, dim] (or [N, tokens*dim]) float array",
  }),
}).openapi("CandidateUpload");

export const CandidateRetrievalRequest = closedObject({
  model: z.string(),
  betas: Betas,
  preprocessing: Preprocessing.optional(),
  candidates: z
    .union([Tensor, CandidateUpload], {
      error: () =>
        'candidates is a tensor ({"values"} or {"base64", "dtype", "shape"}) or an upload ({"upload_id"}) of [N, tokens, dim]',
    })
    .openapi({
      description:
        "N candidate image embeddings in the model's retrieval space, [N, tokens, dim] or [N, tokens*dim]; row i is " +
        "(averaged) trial i's image. Inline, or by upload for the paper's 300 x 257 x 768",
    }),
}).openapi("CandidateRetrievalRequest");

const Direction = z.object({ top1: z.number(), ranks: z.array(z.number().int()) });

export const CandidateRetrievalResponse = z
  .object({
    model: z.string(),
    candidates: z.number().int(),
    chance: z.number(),
    image_retrieval: Direction.openapi({
      description: "Brain -> image: rank of each trial's image among the N",
    }),
    brain_retrieval: Direction.openapi({
      description: "Image -> brain: rank of each image's trial among the N",
    }),
    preprocessing: z.record(z.string(), z.unknown()),
    warnings: z.array(Warning),
  })
  .openapi("CandidateRetrievalResponse");
