/**
 * What a bundle's manifest says about sampling (`sampler.prior`, `sampler.decoder`), read in one place so
 * the pipeline does not depend on the manifest's layout. The samplers implement exactly MindEye1's schedules
 * (reference §2.1, §3.1); a manifest that declares other ones is refused rather than sampled wrongly.
 */
import type { BundleManifest } from "../../core/contracts/bundle-manifest.ts";
import { ApiError } from "../../core/contracts/errors.ts";

export interface ModelSettings {
  modelId: string;
  voxels: number;
  prior: { trainTimesteps: number; steps: number; imageEmbedScale: number; samples: number; seed: number };
  decoder: { steps: number; guidanceScale: number; img2imgStrength: number; vaeScaleFactor: number };
}

/** VD's DDIM config as UniPC 0.13 reads it (reference §3.1): 1000 steps, scaled_linear 0.00085 … 0.012. */
export const DECODER_SCHEDULE = { trainTimesteps: 1000, betaStart: 0.00085, betaEnd: 0.012 } as const;

/**
 * The sampler block of a manifest for the samplers implemented here (reference §1–§3), with the values that
 * depend on the networks: the prior's embedding scale, the VAE's latent scale and the decoder's guidance.
 */
export function mindeye1SamplerSettings(networks: {
  imageEmbedScale: number;
  vaeScaleFactor: number;
  guidanceScale: number;
}): Required<BundleManifest["sampler"]> {
  return {
    prior: {
      kind: "ddpm",
      train_timesteps: 100,
      steps: 100,
      beta_schedule: "cosine",
      cosine_s: 0.008,
      max_beta: 0.999,
      prediction: "x_start",
      image_embed_scale: networks.imageEmbedScale,
      cond_scale: 1,
      samples: 16,
      seed: 42,
    },
    decoder: {
      kind: "unipc",
      solver_type: "bh2",
      solver_order: 2,
      lower_order_final: true,
      prediction: "epsilon",
      train_timesteps: DECODER_SCHEDULE.trainTimesteps,
      beta_schedule: "scaled_linear",
      beta_start: DECODER_SCHEDULE.betaStart,
      beta_end: DECODER_SCHEDULE.betaEnd,
      steps: 20,
      guidance_scale: networks.guidanceScale,
      img2img_strength: 0.85,
      vae_scale_factor: networks.vaeScaleFactor,
    },
  };
}

export function modelSettings(manifest: BundleManifest): ModelSettings {
  const { prior, decoder } = manifest.sampler;
  const refuse = (what: string) =>
    new ApiError("invalid_bundle", `bundle ${manifest.id}: ${what}; reconstruction runs MindEye1's samplers`);
  if (!prior || !decoder) throw refuse("the manifest has no sampler.prior or sampler.decoder settings");
  if (prior.kind !== "ddpm" || prior.beta_schedule !== "cosine" || prior.prediction !== "x_start") {
    throw refuse(
      `prior sampler ${prior.kind}/${prior.beta_schedule}/${prior.prediction} is not ddpm/cosine/x_start`,
    );
  }
  if (prior.cond_scale !== 1) throw refuse(`prior cond_scale ${prior.cond_scale} is not 1`);
  if (prior.cosine_s !== 0.008 || prior.max_beta !== 0.999)
    throw refuse(`prior cosine schedule s=${prior.cosine_s}, max beta ${prior.max_beta} is not 0.008, 0.999`);
  if (decoder.kind !== "unipc") throw refuse(`decoder sampler ${decoder.kind} is not unipc`);
  const unipc = `${decoder.solver_type}/${decoder.solver_order}/${decoder.prediction}/${decoder.lower_order_final}`;
  if (unipc !== "bh2/2/epsilon/true")
    throw refuse(
      `decoder UniPC ${unipc} (solver/order/prediction/lower-order final) is not bh2/2/epsilon/true`,
    );
  const schedule = `${decoder.beta_schedule} ${decoder.beta_start}..${decoder.beta_end} over ${decoder.train_timesteps}`;
  if (
    schedule !==
    `scaled_linear ${DECODER_SCHEDULE.betaStart}..${DECODER_SCHEDULE.betaEnd} over ${DECODER_SCHEDULE.trainTimesteps}`
  )
    throw refuse(
      `decoder schedule ${schedule} is not Versatile Diffusion's scaled_linear 0.00085..0.012 over 1000`,
    );
  return {
    modelId: manifest.id,
    voxels: manifest.input.voxels,
    prior: {
      trainTimesteps: prior.train_timesteps,
      steps: prior.steps,
      imageEmbedScale: prior.image_embed_scale,
      samples: prior.samples,
      seed: prior.seed,
    },
    decoder: {
      steps: decoder.steps,
      guidanceScale: decoder.guidance_scale,
      img2imgStrength: decoder.img2img_strength,
      vaeScaleFactor: decoder.vae_scale_factor,
    },
  };
}
