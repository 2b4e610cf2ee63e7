import { z } from "@hono/zod-openapi";
import { closedObject } from "../../core/contracts/closed-object.ts";
import { RECONSTRUCTION_OUTPUTS } from "../../core/inference/reconstructor.ts";
import { Betas, Preprocessing, Webhook } from "./embeddings.ts";

export const ReconstructionRequest = closedObject({
  model: z.string().openapi({ example: "sim01" }),
  betas: Betas,
  preprocessing: Preprocessing.optional().openapi({
    description: "As for embeddings; the paper's protocol averages an image's repeats into one input",
  }),
  samples: z
    .number()
    .int()
    .min(1)
    .max(16)
    .optional()
    .openapi({
      description:
        "Candidates decoded per input; the best by CLIP similarity is returned. Default: the model's " +
        "reconstruction_defaults (MindEye1: 16)",
    }),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional()
    .openapi({
      description:
        "The same seed, settings and betas give byte-identical PNGs. Default: the model's (MindEye1: 42)",
    }),
  // Refused here rather than by the job: MindEye1's prior runs ancestral DDPM over its training steps only.
  prior_steps: z
    .literal(100, {
      error: () =>
        "prior_steps must be 100 (MindEye1's prior samples over its 100 training steps); leave it out",
    })
    .default(100)
    .openapi({
      description: "The diffusion prior's DDPM steps; MindEye1's prior runs its 100 training steps only",
    }),
  decoder_steps: z.number().int().min(1).max(1000).optional().openapi({
    description: "UniPC steps of the image decoder. Default: the model's (MindEye1: 20)",
  }),
  guidance_scale: z
    .number()
    .min(0)
    .max(50)
    .optional()
    .openapi({
      description:
        "Classifier-free guidance of the image decoder. Default: the model's (MindEye1: 3.5; sim01: 1, its " +
        "decoder world is the exact conditional)",
    }),
  img2img_strength: z
    .number()
    .gt(0)
    .max(1)
    .optional()
    .openapi({
      description:
        "Fraction of the decoder's steps run from the noised low-level image; 1.0 turns img2img off. " +
        "Default: the model's (MindEye1: 0.85)",
    }),
  outputs: z
    .array(z.enum(RECONSTRUCTION_OUTPUTS))
    .min(1)
    .default([...RECONSTRUCTION_OUTPUTS])
    .openapi({ description: "Which PNGs to write; scores of every candidate are always returned" }),
  previews: z
    .boolean()
    .default(false)
    .openapi({
      description:
        "Every 5 decoder steps, a PNG (at most 128 px a side) of candidate 0's current estimate, as a signed " +
        "URL in the job's progress_detail.preview; each costs one VAE decode at batch 1",
    }),
  deadline_seconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 86400)
    .optional()
    .openapi({
      description:
        "Seconds from now by which the job must finish; past it the job stops between steps and is " +
        "`expired` with a deadline_exceeded error (inputs done by then stay in its outputs)",
    }),
  webhook: Webhook.optional(),
}).openapi("ReconstructionRequest", {
  example: {
    model: "sim01",
    betas: { upload_id: "upl_7q2m9x4k1c3v", trials: [0, 1, 2] },
    preprocessing: { average: [[0, 1, 2]] },
    samples: 16,
    seed: 42,
    outputs: ["best", "candidates", "blurry"],
    webhook: { url: "https://lab.example.org/hooks/mindeye", events: ["job.succeeded", "job.failed"] },
  },
});

const SignedImage = z.object({
  url: z
    .string()
    .openapi({ description: "Signed GET URL of a PNG; GET /v1/jobs/{id} again for a fresh one" }),
});

export const ReconstructionOutputs = z
  .object({
    reconstructions: z.array(
      z.object({
        input: z.number().int().openapi({ description: "0-based input (row after averaging)" }),
        best: SignedImage.extend({
          width: z.number().int(),
          height: z.number().int(),
          clip_score: z.number(),
        }).optional(),
        candidates: z.array(SignedImage.extend({ clip_score: z.number() })).optional(),
        blurry: SignedImage.optional(),
        seed: z.number().int(),
      }),
    ),
    files: z.record(z.string(), z.unknown()).openapi({
      description: "Every file written, by name (input-N-best.png, ..., scores.json), as signed URLs",
    }),
  })
  .openapi("ReconstructionOutputs", {
    example: {
      reconstructions: [
        {
          input: 0,
          best: {
            url: "https://api.example.org/v1/blobs/...&signature=...",
            width: 512,
            height: 512,
            clip_score: 0.31,
          },
          candidates: [{ url: "https://api.example.org/v1/blobs/...", clip_score: 0.31 }],
          blurry: { url: "https://api.example.org/v1/blobs/..." },
          seed: 42,
        },
      ],
      files: {},
    },
  });
