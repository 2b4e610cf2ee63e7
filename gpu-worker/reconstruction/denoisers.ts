/**
 * The bundle's step graphs as the samplers' model functions, with every tensor allocated once per
 * reconstruction: `prior` as x̂₀(x_t, t) for the DDPM loop, `unet` with classifier-free guidance as
 * ε(x_t, t) for UniPC (one call at batch 2N, [unconditional; conditional]).
 */
import { combineGuidance, duplicateRows, guidanceContext } from "../samplers/guidance.ts";
import type { GraphSession } from "./graph-session.ts";

/** `prior`: noisy_image_embed, timestep (float t), brain_embed -> pred_image_embed, all [batch, tokens, dim]. */
export function priorDenoiser(prior: GraphSession, brain: Float32Array, dims: readonly number[]) {
  const batch = dims[0]!;
  const timestep = new Float32Array(batch);
  const x0 = new Float32Array(brain.length);
  return async (x: Float32Array, t: number): Promise<Float32Array> => {
    timestep.fill(t);
    await prior.run(
      {
        noisy_image_embed: { data: x, dims },
        timestep: { data: timestep, dims: [batch] },
        brain_embed: { data: brain, dims },
      },
      { pred_image_embed: { data: x0, dims } },
    );
    return x0;
  };
}

/**
 * `unet` under guidance scale w for N latents [N, C, h, w] and N conditions [N, tokens, dim]: the context
 * is [zeros; conditions] and ε = ε_u + w (ε_c − ε_u).
 */
export function guidedUnetDenoiser(
  unet: GraphSession,
  conditions: Float32Array,
  conditionDims: readonly number[],
  latentDims: readonly number[],
  guidanceScale: number,
) {
  const rows = latentDims[0]!;
  const batchLatentDims = [2 * rows, ...latentDims.slice(1)];
  const latentSize = latentDims.reduce((a, b) => a * b, 1);
  const context = { data: guidanceContext(conditions), dims: [2 * rows, ...conditionDims.slice(1)] };
  const batchLatents = new Float32Array(2 * latentSize);
  const batchEps = new Float32Array(2 * latentSize);
  const timestep = new Float32Array(2 * rows);
  const eps = new Float32Array(latentSize);
  return async (latents: Float32Array, t: number): Promise<Float32Array> => {
    duplicateRows(latents, batchLatents);
    timestep.fill(t);
    await unet.run(
      {
        sample: { data: batchLatents, dims: batchLatentDims },
        timestep: { data: timestep, dims: [2 * rows] },
        encoder_hidden_states: context,
      },
      { eps: { data: batchEps, dims: batchLatentDims } },
    );
    return combineGuidance(batchEps, guidanceScale, eps);
  };
}
