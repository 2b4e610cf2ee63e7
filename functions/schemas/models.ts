import { z } from "@hono/zod-openapi";

const OutputShape = z.object({
  shape: z.array(z.number().int()).openapi({ description: "Shape of one trial's output: [tokens, dim]" }),
});

export const ModelResource = z
  .object({
    id: z.string().openapi({ description: "The model's id, as `model` in requests", example: "sim01" }),
    family: z
      .string()
      .openapi({ description: "The architecture: mindeye1 (later mindeye2)", example: "mindeye1" }),
    subject: z
      .string()
      .openapi({ description: "The subject the model was trained on (one model per subject)" }),
    version: z.string().openapi({ description: "The bundle's version; a retrained bundle has a new one" }),
    input: z
      .object({
        voxels: z
          .number()
          .int()
          .openapi({ description: "Voxels per trial, in numpy C order over the (x, y, z) grid" }),
        grid: z.array(z.number().int()).length(3).nullable().openapi({
          description: "The (x, y, z) volume the mask is drawn on; null for a model without one",
        }),
        mask_url: z
          .string()
          .nullable()
          .openapi({ description: "The voxel mask over the grid as .npy (uint8, 1 = in)" }),
        training: z
          .object({
            zscore: z
              .enum(["session", "none"])
              .openapi({ description: "How the training betas were z-scored: per session, or not at all" }),
            session_trials: z.number().int().nullable().openapi({
              description: "Trials per session the z-scoring statistics came from (NSD: 750), when known",
            }),
            voxel_mean: z.number().openapi({
              description: "Typical per-voxel mean of a single-trial training input (0 when z-scored)",
            }),
            voxel_std: z.number().openapi({
              description: "Typical per-voxel standard deviation of a training input (1 when z-scored)",
            }),
            units: z.string().openapi({
              description:
                "What a value meant before z-scoring, e.g. percent signal change stored x300 as int16",
            }),
          })
          .nullable()
          .openapi({
            description:
              "What the model's training inputs looked like (requests far from it get warnings); null when the bundle does not say",
          }),
      })
      .openapi({
        description: "What the model takes: one masked trial of betas is a row of `voxels` numbers",
      }),
    outputs: z
      .object({
        backbone: OutputShape.openapi({
          description: "The backbone's CLIP hidden-state tokens (reconstruction)",
        }),
        retrieval: OutputShape.openapi({
          description: "The projector's output, in the space of the image index",
        }),
      })
      .openapi({ description: "The embeddings `POST /v1/embeddings` can return, per trial" }),
    capabilities: z
      .object({
        embeddings: z.boolean().openapi({ description: "POST /v1/embeddings works with this model" }),
        retrieval: z.boolean().openapi({ description: "POST /v1/retrievals works with this model" }),
        reconstruction: z
          .boolean()
          .openapi({ description: "POST /v1/reconstructions works with this model" }),
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
        samples: z.number().int().openapi({ description: "Candidates decoded per input" }),
        seed: z.number().int().openapi({ description: "Seed of the reconstruction's one random stream" }),
        decoder_steps: z.number().int().openapi({ description: "UniPC steps of the image decoder" }),
        guidance_scale: z.number().openapi({ description: "Classifier-free guidance of the image decoder" }),
        img2img_strength: z
          .number()
          .openapi({ description: "Fraction of the decoder's steps run from the noised low-level image" }),
      })
      .optional()
      .openapi({
        description:
          "What POST /v1/reconstructions uses for each setting a request leaves out: the bundle's own sampler " +
          "settings (MindEye1: 16 samples, seed 42, 20 decoder steps, guidance 3.5, img2img 0.85). Present only " +
          "when the model can reconstruct",
        example: { samples: 16, seed: 42, decoder_steps: 20, guidance_scale: 3.5, img2img_strength: 0.85 },
      }),
    preprocessing_defaults: z
      .object({
        scale: z.literal("auto").openapi({ description: "Default `preprocessing.scale`" }),
        zscore: z
          .object({
            upload: z
              .literal("session")
              .openapi({ description: "Default for uploads: the session's statistics" }),
            inline: z
              .literal("none")
              .openapi({ description: "Default for inline betas: none (too few rows)" }),
          })
          .openapi({ description: "Default `preprocessing.zscore`, by where the betas come from" }),
      })
      .openapi({ description: "What `preprocessing` does when a request leaves it out" }),
    hashes: z
      .record(z.string(), z.string())
      .openapi({ description: "sha256 of every file of the bundle, by file name" }),
  })
  .openapi("Model", { description: "A model served: what it accepts, what it produces, and its files" });

export const ModelIdParam = z.object({
  id: z.string().openapi({
    param: { name: "id", in: "path", description: "The model's id (GET /v1/models lists them)" },
    example: "sim01",
  }),
});
