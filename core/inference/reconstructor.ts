import { ApiError } from "../contracts/errors.ts";
import type { ModelDescription } from "./inference.ts";

/**
 * How a job reaches the reconstruction pipeline of a loaded bundle. Only the process that holds the models
 * implements it (gpu-worker's ModelServer, in `mindeye serve` and `mindeye worker`); the API never does.
 */
export interface Reconstructor {
  reconstruct(
    model: string,
    /** One input's voxels, repeats already averaged. */
    voxels: Float32Array,
    options: ReconstructionSettings,
    hooks: ReconstructionHooks,
  ): Promise<Reconstruction>;
}

export interface ReconstructionHooks {
  onProgress?: (progress: ReconstructionStep) => void;
  /** With `previews`: candidate 0's current estimate every few decoder steps, awaited by the pipeline. */
  onPreview?: (preview: ReconstructionPreview) => Promise<void>;
  /** Checked between steps: an aborted signal stops the run with its reason. */
  signal?: AbortSignal;
}

/** The decoder's estimate of the clean image after `step` of `steps`, [1, 3, H, W] in [0, 1]. */
export interface ReconstructionPreview {
  image: ImageTensor;
  step: number;
  steps: number;
}

/** The stages a lab watches (the pipeline's VAE encode counts as `lowlevel`, its VAE decode as `decode`). */
export const RECONSTRUCTION_STAGES = ["embed", "prior", "lowlevel", "decoder", "decode", "select"] as const;
export type ReconstructionStage = (typeof RECONSTRUCTION_STAGES)[number];

export interface ReconstructionStep {
  stage: ReconstructionStage;
  /** 1-based step within the stage, of `steps`. */
  step: number;
  steps: number;
}

export const RECONSTRUCTION_OUTPUTS = ["best", "candidates", "blurry"] as const;
export type ReconstructionOutput = (typeof RECONSTRUCTION_OUTPUTS)[number];

/** The request's settings, as the pipeline takes them (snake_case, as sent). */
export interface ReconstructionSettings {
  samples: number;
  seed: number;
  prior_steps: number;
  decoder_steps: number;
  guidance_scale: number;
  img2img_strength: number;
  outputs: ReconstructionOutput[];
  /** Low-resolution previews of the decoder's estimate in progress (opt-in: each costs a VAE decode). */
  previews?: boolean;
}

/** Images are [..., 3, H, W] in [0, 1] (the blurry one may stray outside; PNG encoding clamps it). */
export interface ImageTensor {
  data: Float32Array;
  dims: readonly number[];
}

export interface Reconstruction {
  /** Index of the chosen candidate, and each candidate's CLIP similarity to the brain's retrieval embedding. */
  best: number;
  similarities: number[];
  image?: ImageTensor;
  candidates?: ImageTensor;
  blurry?: ImageTensor;
}

/** 422 before any job exists when the model's bundle cannot reconstruct (its `capabilities`). */
export function assertCanReconstruct(model: ModelDescription): void {
  const { reconstruction, missing_for_reconstruction: missing } = model.capabilities;
  if (reconstruction) return;
  const why =
    missing.length > 0
      ? `its bundle has no ${missing.join(", ")} graph`
      : "its bundle's manifest has no prior and decoder sampler settings";
  throw new ApiError(
    "model_cannot_reconstruct",
    `Model ${model.id} cannot reconstruct images: ${why}. Choose a model whose capabilities.reconstruction ` +
      "is true (GET /v1/models), or use /v1/embeddings and /v1/retrievals with this one.",
    { fields: { model: model.id, missing_graphs: missing } },
  );
}
