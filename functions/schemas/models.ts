import { z } from "@hono/zod-openapi";

const OutputShape = z.object({ shape: z.array(z.number().int()) });

export const ModelResource = z
  .object({
    id: z.string().openapi({ example: "sim01" }),
    family: z.string().openapi({ example: "mindeye1" }),
    subject: z.string(),
    version: z.string(),
    input: z.object({
      voxels: z
        .number()
        .int()
        .openapi({ description: "Voxels per trial, in numpy C order over the (x, y, z) grid" }),
      grid: z.array(z.number().int()).length(3).nullable(),
      mask_url: z
        .string()
        .nullable()
        .openapi({ description: "The voxel mask over the grid as .npy (uint8, 1 = in)" }),
      training: z
        .object({
          zscore: z.enum(["session", "none"]),
          session_trials: z.number().int().nullable(),
          voxel_mean: z.number(),
          voxel_std: z.number(),
          units: z.string(),
        })
        .nullable()
        .openapi({
          description:
            "What the model's training inputs looked like (requests far from it get warnings); null when the bundle does not say",
        }),
    }),
    outputs: z.object({ backbone: OutputShape, retrieval: OutputShape }),
    capabilities: z
      .object({
        embeddings: z.boolean(),
        retrieval: z.boolean(),
        reconstruction: z.boolean(),
        missing_for_reconstruction: z.array(z.string()).openapi({
          description: "Bundle graphs this model lacks for reconstruction (empty when it can reconstruct)",
          example: ["prior", "lowlevel", "vae_encoder", "unet", "vae_decoder", "clip_image"],
        }),
      })
      .openapi({
        description: "What this model serves: a model without the image decoder cannot reconstruct",
      }),
    reconstruction_defaults: z
      .object({
        samples: z.number().int(),
        seed: z.number().int(),
        decoder_steps: z.number().int(),
        guidance_scale: z.number(),
        img2img_strength: z.number(),
      })
      .optional()
      .openapi({
        description:
          "What POST /v1/reconstructions uses for each setting a request leaves out: the bundle's own sampler " +
          "settings (MindEye1: 16 samples, seed 42, 20 decoder steps, guidance 3.5, img2img 0.85). Present only " +
          "when the model can reconstruct",
        example: { samples: 16, seed: 42, decoder_steps: 20, guidance_scale: 3.5, img2img_strength: 0.85 },
      }),
    preprocessing_defaults: z.object({
      scale: z.literal("auto"),
      zscore: z.object({ upload: z.literal("session"), inline: z.literal("none") }),
    }),
    hashes: z.record(z.string(), z.string()),
  })
  .openapi("Model");

export const ModelIdParam = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, example: "sim01" }),
});
