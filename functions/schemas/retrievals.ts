import { z } from "@hono/zod-openapi";
import { closedObject } from "../../core/contracts/closed-object.ts";
import { Betas, Preprocessing, Tensor, Warning, Webhook } from "./embeddings.ts";

const PayloadValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const RetrievalRequest = closedObject({
  index: z
    .string()
    .openapi({ description: "The index to search (GET /v1/indexes)", example: "sim01-stimuli" }),
  k: z.number().int().min(1).max(1000).default(10).openapi({ description: "Hits per query" }),
  model: z.string().optional().openapi({ description: "Required with betas" }),
  betas: Betas.optional(),
  embedding: Tensor.optional().openapi({
    description: "Query vectors instead of betas: [n, dim] or [dim]",
  }),
  preprocessing: Preprocessing.optional(),
  filter: z
    .record(
      z.string(),
      z.union([
        PayloadValue,
        closedObject({ in: z.array(PayloadValue).openapi({ description: "Any one of these values" }) }),
      ]),
    )
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
    candidates: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(16)
      .openapi({ description: "First-stage hits re-ordered (at least k)" }),
  })
    .optional()
    .openapi({
      description:
        "MindEye's second stage: take `candidates` first-stage hits, re-order them by token similarity " +
        "(betas only)",
    }),
}).openapi("RetrievalRequest", {
  description: "Search one index with the brain embedding of each trial, or with given embeddings",
});

export const SearchHit = z.object({
  id: z.union([z.string(), z.number()]).openapi({ description: "The point's id in the index" }),
  score: z
    .number()
    .openapi({ description: "Similarity to the query by the index's metric; higher is closer" }),
  payload: z.record(z.string(), PayloadValue).openapi({
    description:
      "What the index stores about the image, e.g. stimulus_id and split; `image` is a signed URL of the image (valid until `image_expires_at`)",
  }),
  first_stage_rank: z
    .number()
    .int()
    .nullable()
    .optional()
    .openapi({ description: "With rerank: the hit's rank in the first stage" }),
});

export const RetrievalResponse = z
  .object({
    index: z.string().openapi({ description: "The index searched" }),
    model: z
      .string()
      .nullable()
      .openapi({ description: "The model that embedded the betas; null for `embedding`" }),
    results: z.array(z.array(SearchHit)).openapi({ description: "Per query (trial), the k best hits" }),
    preprocessing: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ description: "The preprocessing applied to the betas; null for `embedding`" }),
    warnings: z.array(Warning).openapi({ description: "Ways the input differs from the training input" }),
  })
  .openapi("RetrievalResponse", { description: "The nearest images of each query" });

export const CandidateUpload = closedObject({
  upload_id: z.string().openapi({
    description: "A completed upload of an .npy [N, tokens, dim] (or [N, tokens*dim]) float array",
  }),
}).openapi("CandidateUpload", { description: "Candidate embeddings by upload" });

export const CandidateRetrievalRequest = closedObject({
  model: z.string().openapi({ description: "The model whose retrieval space the candidates are in" }),
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
}).openapi("CandidateRetrievalRequest", {
  description: "MindEye's N-way evaluation: N samples' betas against their N images' embeddings",
});

const Direction = z.object({
  top1: z.number().openapi({ description: "Fraction ranked first: the paper's top-1 accuracy" }),
  ranks: z
    .array(z.number().int())
    .openapi({ description: "Per row, the rank of its true match among the N (1 = first)" }),
});

export const CandidateRetrievalResponse = z
  .object({
    model: z.string().openapi({ description: "The model that embedded the betas" }),
    candidates: z.number().int().openapi({ description: "N, the samples and candidates compared" }),
    chance: z.number().openapi({ description: "1/N, the top-1 accuracy of guessing" }),
    image_retrieval: Direction.openapi({
      description: "Brain -> image: rank of each trial's image among the N",
    }),
    brain_retrieval: Direction.openapi({
      description: "Image -> brain: rank of each image's trial among the N",
    }),
    preprocessing: z
      .record(z.string(), z.unknown())
      .openapi({ description: "The preprocessing applied to the betas" }),
    warnings: z.array(Warning).openapi({ description: "Ways the input differs from the training input" }),
  })
  .openapi("CandidateRetrievalResponse", { description: "Top-1 accuracy and ranks in both directions" });
