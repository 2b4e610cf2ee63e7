import { z } from "@hono/zod-openapi";
import { closedObject } from "../../core/contracts/closed-object.ts";
import { webhookSubscriptionInputSchema } from "../../core/contracts/jobs.ts";
import { TensorJsonSchema } from "../../core/contracts/tensor.ts";

// core's schemas are plain zod; rebuilt here as schemas that carry OpenAPI metadata.
export const Tensor = z.union(TensorJsonSchema.options).openapi("Tensor");

export const Webhook = closedObject(webhookSubscriptionInputSchema.shape).openapi({
  description: "Announce the job's events (when it runs as a job)",
});

const trialsField = z
  .array(z.number().int().nonnegative())
  .min(1)
  .optional()
  .openapi({ description: "0-based trials of the upload to use (default: all); z-scoring still uses all" });

export const UploadBetas = closedObject({
  upload_id: z.string(),
  dataset: z
    .string()
    .optional()
    .openapi({ description: "Must be the dataset the upload was completed with (a check, not a switch)" }),
  trials: trialsField,
}).openapi("UploadBetas");

export const SessionsBetas = closedObject({
  sessions: z.array(UploadBetas).min(1).max(1000).openapi({
    description:
      "One upload per session, each scaled and z-scored with its own session's statistics; rows concatenated in this order",
  }),
}).openapi("SessionsBetas");

export const BETAS_FORMS =
  'betas is one of: a tensor ({"values": [[...], ...]} or {"base64", "dtype": "float32", "shape"}, [trials, voxels] or [voxels]), ' +
  'an upload ({"upload_id", "dataset"?, "trials"?}), or sessions ({"sessions": [{"upload_id", "dataset"?, "trials"?}, ...]})';

export const Betas = z
  .union([Tensor, UploadBetas, SessionsBetas], { error: () => BETAS_FORMS })
  .openapi("Betas", {
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
        mean: z.union([z.number(), z.array(z.number())]),
        std: z.union([z.number(), z.array(z.number())]),
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
}).openapi("Preprocessing");

export const EmbeddingOutputName = z.enum(["backbone", "retrieval"]);

export const EmbeddingRequest = closedObject({
  model: z.string().openapi({ example: "sim01" }),
  betas: Betas,
  preprocessing: Preprocessing.optional(),
  outputs: z.array(EmbeddingOutputName).min(1).default(["retrieval"]),
  encoding: z
    .enum(["json", "base64", "npy"])
    .optional()
    .openapi({ description: "Default from Accept, else json" }),
  webhook: Webhook.optional(),
}).openapi("EmbeddingRequest");

export const Warning = z
  .object({
    code: z.enum(["input_scale", "input_not_centred", "not_zscored", "few_trials_zscore"]),
    detail: z.string(),
  })
  .openapi("Warning", {
    description: "The input does not look like the model's training input; the result is returned anyway",
  });

export const EmbeddingResponse = z
  .object({
    model: z.string(),
    trials: z.number().int(),
    outputs: z.record(z.string(), Tensor),
    preprocessing: z.record(z.string(), z.unknown()),
    warnings: z.array(Warning),
    timing: z.object({
      queue_ms: z.number(),
      run_ms: z.number(),
      batch_size: z.number().int(),
      total_ms: z.number(),
    }),
  })
  .openapi("EmbeddingResponse");
