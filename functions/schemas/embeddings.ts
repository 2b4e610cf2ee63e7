import { z } from "@hono/zod-openapi";
import { webhookSubscriptionInputSchema } from "../../core/contracts/jobs.ts";
import { TensorJsonSchema } from "../../core/contracts/tensor.ts";

// core's schema is plain zod; rebuilt here as a union that carries OpenAPI metadata.
export const Tensor = z.union(TensorJsonSchema.options).openapi("Tensor");

export const UploadBetas = z
  .object({
    upload_id: z.string(),
    dataset: z
      .string()
      .optional()
      .openapi({ description: "Must be the dataset the upload was completed with (a check, not a switch)" }),
    trials: z
      .array(z.number().int().nonnegative())
      .min(1)
      .optional()
      .openapi({ description: "0-based trials to use (default: all)" }),
  })
  .openapi("UploadBetas");

export const Betas = z.union([Tensor, UploadBetas]).openapi("Betas", {
  description: "[trials, voxels] (or [voxels]) masked betas inline, or trials of a completed upload",
});

export const Preprocessing = z
  .object({
    scale: z
      .union([z.literal("auto"), z.number().positive()])
      .optional()
      .openapi({
        description: "Divide by this; auto = 300 for int16 files without NIfTI scaling (NSD), else 1",
      }),
    zscore: z
      .union([
        z.enum(["none", "session"]),
        z.object({
          mean: z.union([z.number(), z.array(z.number())]),
          std: z.union([z.number(), z.array(z.number())]),
        }),
      ])
      .optional()
      .openapi({ description: "Voxel-wise z-scoring; default session for uploads, none for inline betas" }),
    average: z.array(z.array(z.number().int().nonnegative()).min(1)).min(1).optional().openapi({
      description: "Groups of trial indices (e.g. an image's repeats) averaged after z-scoring",
    }),
  })
  .openapi("Preprocessing");

export const EmbeddingOutputName = z.enum(["backbone", "retrieval"]);

export const EmbeddingRequest = z
  .object({
    model: z.string().openapi({ example: "sim01" }),
    betas: Betas,
    preprocessing: Preprocessing.optional(),
    outputs: z.array(EmbeddingOutputName).min(1).default(["retrieval"]),
    encoding: z
      .enum(["json", "base64", "npy"])
      .optional()
      .openapi({ description: "Default from Accept, else json" }),
    webhook: z
      .object(webhookSubscriptionInputSchema.shape)
      .optional()
      .openapi({ description: "Announce the job's events (when it runs as a job)" }),
  })
  .openapi("EmbeddingRequest");

export const EmbeddingResponse = z
  .object({
    model: z.string(),
    trials: z.number().int(),
    outputs: z.record(z.string(), Tensor),
    preprocessing: z.record(z.string(), z.unknown()),
    timing: z.object({
      queue_ms: z.number(),
      run_ms: z.number(),
      batch_size: z.number().int(),
      total_ms: z.number(),
    }),
  })
  .openapi("EmbeddingResponse");
