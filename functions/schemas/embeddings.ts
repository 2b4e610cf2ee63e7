import { z } from "@hono/zod-openapi";
import { closedObject } from "../../core/contracts/closed-object.ts";
import { webhookSubscriptionInputSchema } from "../../core/contracts/jobs.ts";
import { TensorJsonSchema } from "../../core/contracts/tensor.ts";

// core's schemas are plain zod; rebuilt here as schemas that carry OpenAPI metadata.
export const Tensor = z.union(TensorJsonSchema.options).openapi("Tensor", {
  description: "A float32 tensor: nested JSON numbers, or base64 of its bytes with dtype and shape",
  // [[0.12, -0.48, 1.03], [0.56, -1.2, 0.07]]: numpy's base64.b64encode(x.astype("<f4").tobytes()).
  example: { base64: "j8L1PY/C9b4K14M/KVwPP5qZmb8pXI89", dtype: "float32", shape: [2, 3] },
});

export const Webhook = closedObject(webhookSubscriptionInputSchema.shape).openapi({
  description: "Announce the job's events (when it runs as a job)",
});

const trialsField = z
  .array(z.number().int().nonnegative())
  .min(1)
  .optional()
  .openapi({ description: "0-based trials of the upload to use (default: all); z-scoring still uses all" });

export const UploadBetas = closedObject({
  upload_id: z
    .string()
    .openapi({ description: "A completed upload of the session's betas (POST /v1/uploads)" }),
  dataset: z
    .string()
    .optional()
    .openapi({ description: "Must be the dataset the upload was completed with (a check, not a switch)" }),
  trials: trialsField,
}).openapi("UploadBetas", { description: "Trials of one completed upload" });

export const SessionsBetas = closedObject({
  sessions: z.array(UploadBetas).min(1).max(1000).openapi({
    description:
      "One upload per session, each scaled and z-scored with its own session's statistics; rows concatenated in this order",
  }),
}).openapi("SessionsBetas", { description: "Trials of several sessions' uploads, each z-scored on its own" });

export const BETAS_FORMS =
  'betas is one of: a tensor ({"values": [[...], ...]} or {"base64", "dtype": "float32", "shape"}, [trials, voxels] or [voxels]), ' +
  'an upload ({"upload_id", "dataset"?, "trials"?}), or sessions ({"sessions": [{"upload_id", "dataset"?, "trials"?}, ...]})';

export const Betas = z
  .union([Tensor, UploadBetas, SessionsBetas], { error: () => BETAS_FORMS })
  .openapi("Betas", {
    example: { upload_id: "upl_gekccgismu3z457i", trials: [0, 1, 2] },
    description:
      "[trials, voxels] (or [voxels]) masked betas inline, trials of a completed upload, or trials of several sessions' uploads",
  });

export const Preprocessing = closedObject({
  scale: z
    .union([z.literal("auto"), z.number().positive()])
    .optional()
    .openapi({
      description: "Divide by this; auto = 300 for int16 files without NIfTI scaling (NSD), else 1",
    }),
  zscore: z
    .union([
      z.enum(["none", "session"]),
      closedObject({
        mean: z
          .union([z.number(), z.array(z.number())])
          .openapi({ description: "Subtracted: one number, or one per voxel" }),
        std: z
          .union([z.number(), z.array(z.number())])
          .openapi({ description: "Divided by after that: one number, or one per voxel" }),
      }),
    ])
    .optional()
    .openapi({
      description:
        "Voxel-wise z-scoring. session (default for uploads): with statistics over every trial of each upload; " +
        "for inline betas (default none) over the rows sent, at least 50. Or reference {mean, std}.",
    }),
  average: z.array(z.array(z.number().int().nonnegative()).min(1)).min(1).optional().openapi({
    description:
      "Groups of row indices (e.g. an image's repeats across sessions) averaged after z-scoring; at most one group per row, each row in at most one group",
  }),
}).openapi("Preprocessing", {
  example: { scale: "auto", zscore: "session", average: [[0, 1, 2]] },
  description: "How the betas are scaled, z-scored and averaged before the model; echoed back as applied",
});

export const EmbeddingOutputName = z.enum(["backbone", "retrieval"]);

export const EmbeddingRequest = closedObject({
  model: z.string().openapi({ description: "The model's id (GET /v1/models)", example: "sim01" }),
  betas: Betas,
  preprocessing: Preprocessing.optional(),
  outputs: z.array(EmbeddingOutputName).min(1).default(["retrieval"]).openapi({
    description: "Which embeddings to return: backbone tokens, retrieval (projector) tokens, or both",
  }),
  encoding: z
    .enum(["json", "base64", "npy"])
    .optional()
    .openapi({ description: "Default from Accept, else json" }),
  webhook: Webhook.optional(),
}).openapi("EmbeddingRequest", { description: "Betas to embed with one model" });

export const Warning = z
  .object({
    code: z
      .enum(["input_scale", "input_not_centred", "not_zscored", "few_trials_zscore"])
      .openapi({ description: "What looks off (docs/api.md, Warnings)" }),
    detail: z
      .string()
      .openapi({ description: "What was measured, what the model expects, and what to change" }),
  })
  .openapi("Warning", {
    description: "The input does not look like the model's training input; the result is returned anyway",
  });

export const EmbeddingResponse = z
  .object({
    model: z.string().openapi({ description: "The model that embedded them" }),
    trials: z.number().int().openapi({ description: "Rows embedded (after averaging)" }),
    outputs: z
      .record(z.string(), Tensor)
      .openapi({ description: "Each output asked for, [trials, tokens, dim], in the encoding asked for" }),
    preprocessing: z
      .record(z.string(), z.unknown())
      .openapi({ description: "The preprocessing applied: scale, the z-scoring's statistics, averaging" }),
    warnings: z.array(Warning).openapi({ description: "Ways the input differs from the training input" }),
    timing: z
      .object({
        queue_ms: z.number().openapi({ description: "Waiting for the model (batching, queue)" }),
        run_ms: z.number().openapi({ description: "Running the model" }),
        batch_size: z.number().int().openapi({
          description: "Rows of the batch it ran in (more than trials when requests were coalesced)",
        }),
        total_ms: z.number().openapi({ description: "The whole request, reading betas included" }),
      })
      .openapi({ description: "Where the time went, in milliseconds" }),
  })
  .openapi("EmbeddingResponse", {
    description: "The embeddings of every row, with what was done to get them",
  });
