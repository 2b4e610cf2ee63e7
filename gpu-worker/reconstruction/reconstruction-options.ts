/** What a caller may choose per reconstruction; anything left out takes the bundle's settings. */
import { z } from "zod";
import { ApiError } from "../../core/contracts/errors.ts";
import type { ModelSettings } from "./model-settings.ts";

export const RECONSTRUCTION_OUTPUTS = ["best", "candidates", "blurry", "prior_embeddings"] as const;
export type ReconstructionOutput = (typeof RECONSTRUCTION_OUTPUTS)[number];

export const ReconstructionOptions = z.strictObject({
  /** Candidates decoded; the best by CLIP similarity is returned. MindEye1 used 16. */
  samples: z.number().int().min(1).max(16).optional(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
  /** The prior's DDPM steps: only its training count (ancestral DDPM; D2P's DDIM path is not ported). */
  prior_steps: z.number().int().positive().optional(),
  decoder_steps: z.number().int().min(1).max(1000).optional(),
  guidance_scale: z.number().min(0).max(50).optional(),
  /** Fraction of the decoder's steps run from the noised low-level image; 1 starts from pure noise. */
  img2img_strength: z.number().gt(0).max(1).optional(),
  outputs: z.array(z.enum(RECONSTRUCTION_OUTPUTS)).min(1).optional(),
  /** Decode candidate 0's current estimate every DECODER_STEPS_PER_PREVIEW decoder steps (reconstruct.ts). */
  previews: z.boolean().optional(),
});
export type ReconstructionOptions = z.infer<typeof ReconstructionOptions>;

export interface ResolvedOptions {
  samples: number;
  seed: number;
  priorSteps: number;
  decoderSteps: number;
  guidanceScale: number;
  img2imgStrength: number;
  outputs: Set<ReconstructionOutput>;
  previews: boolean;
}

/** Validates `input` and fills the gaps from the bundle; a bad value is an `invalid_request` naming it. */
export function resolveOptions(input: unknown, settings: ModelSettings): ResolvedOptions {
  const parsed = ReconstructionOptions.safeParse(input ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(options)"}: ${i.message}`);
    throw new ApiError("invalid_request", `Reconstruction options are not valid: ${issues.join("; ")}.`);
  }
  const o = parsed.data;
  const priorSteps = o.prior_steps ?? settings.prior.steps;
  if (priorSteps !== settings.prior.trainTimesteps) {
    throw new ApiError(
      "invalid_request",
      `prior_steps ${priorSteps} is not supported: this model's prior samples with ancestral DDPM over its ` +
        `${settings.prior.trainTimesteps} training steps; send ${settings.prior.trainTimesteps} or leave it out.`,
    );
  }
  return {
    samples: o.samples ?? Math.min(settings.prior.samples, 16),
    seed: o.seed ?? settings.prior.seed,
    priorSteps,
    decoderSteps: o.decoder_steps ?? settings.decoder.steps,
    guidanceScale: o.guidance_scale ?? settings.decoder.guidanceScale,
    img2imgStrength: o.img2img_strength ?? settings.decoder.img2imgStrength,
    outputs: new Set(o.outputs ?? ["best"]),
    previews: o.previews ?? false,
  };
}
