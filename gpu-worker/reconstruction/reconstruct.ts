/**
 * MindEye1's image reconstruction (reference §1.2) over a bundle's graphs:
 * voxel2clip -> prior (DDPM, N samples in one batch) -> ÷√768 and each sample by its CLS-token norm ->
 * low-level latent -> VAE decode (blurry) -> CLIP-normalised init -> VAE encode, one posterior sample for
 * all N -> noised to the img2img start -> UniPC with guidance at batch 2N -> VAE decode, clamp -> CLIP of
 * each candidate -> best by cosine against the projector output. All noise comes from one seeded stream
 * in MindEye's order (samplers/README.md); progress is reported per stage and step; an aborted signal
 * stops it between steps. With `previews`, candidate 0's current estimate is decoded every few decoder steps.
 */
import { ApiError } from "../../core/contracts/errors.ts";
import { addNoise } from "../samplers/add-noise.ts";
import { cosineSchedule } from "../samplers/cosine-schedule.ts";
import { sampleDdpm } from "../samplers/ddpm-prior.ts";
import { GaussianGenerator } from "../samplers/gaussian-generator.ts";
import { scaledLinearSchedule } from "../samplers/scaled-linear-schedule.ts";
import { img2imgStart, unipcTimesteps } from "../samplers/timesteps.ts";
import { diffusersGrid, UniPCMultistep } from "../samplers/unipc.ts";
import { bestOfN } from "./best-of-n.ts";
import { guidedUnetDenoiser, priorDenoiser } from "./denoisers.ts";
import type { FloatTensor } from "./graph-session.ts";
import { clipNormalize, decodedToUnit, repeatRows, samplePosterior, unscaleLatent } from "./image-stages.ts";
import { DECODER_SCHEDULE, type ModelSettings } from "./model-settings.ts";
import type { ReconstructionGraphs } from "./reconstruction-graphs.ts";
import { resolveOptions } from "./reconstruction-options.ts";

export type ReconstructionStage =
  | "embed"
  | "prior"
  | "lowlevel"
  | "vae_encode"
  | "decoder"
  | "vae_decode"
  | "select";

export interface ReconstructionProgress {
  stage: ReconstructionStage;
  /** 1-based step within the stage, of `steps`. */
  step: number;
  steps: number;
}

/**
 * What a watcher sees of the decoder's progress: candidate 0's predicted clean latent
 * x̂₀ = (x_t − √(1−ᾱ_t) ε̂) / √ᾱ_t, decoded by the VAE at batch 1 (so one preview costs 1/N of the final
 * decode), [1, 3, H, W] in [0, 1], after decoder step `step` of `steps`.
 */
export interface ReconstructionPreview {
  image: FloatTensor;
  step: number;
  steps: number;
}

/** Decoder steps between previews; none after the last step, whose decode is the result itself. */
export const DECODER_STEPS_PER_PREVIEW = 5;

export interface ReconstructionResult {
  /** Index of the chosen candidate and every candidate's similarity to the projector output. */
  best: number;
  similarities: number[];
  /** The chosen image, [3, H, W] in [0, 1] (output "best"). */
  image?: FloatTensor;
  /** All N decoded candidates, [N, 3, H, W] in [0, 1] (output "candidates"). */
  candidates?: FloatTensor;
  /** The low-level image, [1, 3, H, W], not clamped, as MindEye scores it (output "blurry"). */
  blurry?: FloatTensor;
  /** The prior's N embeddings after the CLS-norm rescale, [N, tokens, dim] (output "prior_embeddings"). */
  priorEmbeddings?: FloatTensor;
}

const DECODER_VP = scaledLinearSchedule(
  DECODER_SCHEDULE.trainTimesteps,
  DECODER_SCHEDULE.betaStart,
  DECODER_SCHEDULE.betaEnd,
);

export async function reconstruct(args: {
  graphs: ReconstructionGraphs;
  settings: ModelSettings;
  /** One trial's voxels (repeats already averaged), as voxel2clip takes them. */
  voxels: Float32Array;
  options?: unknown;
  onProgress?: (progress: ReconstructionProgress) => void;
  /** Awaited, so its cost (encoding, storing) is the pipeline's; called only with the `previews` option. */
  onPreview?: (preview: ReconstructionPreview) => Promise<void>;
  signal?: AbortSignal;
}): Promise<ReconstructionResult> {
  const { graphs, settings, voxels, signal } = args;
  const options = resolveOptions(args.options, settings);
  checkVoxels(voxels, settings);
  const n = options.samples;
  const progress = (stage: ReconstructionStage, step = 1, steps = 1) => {
    args.onProgress?.({ stage, step, steps });
  };
  const checkpoint = () => signal?.throwIfAborted();
  const generator = new GaussianGenerator(options.seed);
  const voxelInput = { voxels: { data: voxels, dims: [1, voxels.length] } };

  checkpoint();
  const embedded = await graphs.voxel2clip.runOnce(voxelInput, ["backbone", "retrieval"]);
  const backbone = embedded.backbone!;
  progress("embed");

  const [, tokens, dim] = backbone.dims as [number, number, number];
  const rowSize = tokens * dim;
  const embedDims = [n, tokens, dim];
  const priorSchedule = cosineSchedule(options.priorSteps);
  const embeddings = await sampleDdpm({
    schedule: priorSchedule,
    size: n * rowSize,
    predictX0: priorDenoiser(graphs.prior, repeatRows(backbone.data, n), embedDims),
    generator,
    imageEmbedScale: settings.prior.imageEmbedScale,
    hooks: { signal, onStep: (step, steps) => progress("prior", step, steps) },
  });
  normalizeByClsToken(embeddings, n, tokens, dim);

  const timesteps = unipcTimesteps(options.decoderSteps, DECODER_SCHEDULE.trainTimesteps);
  const useImg2img = options.img2imgStrength < 1;
  const start = useImg2img ? img2imgStart(options.decoderSteps, options.img2imgStrength) : 0;
  const { vaeScaleFactor } = settings.decoder;
  // The low-level latent is one small call; it also gives the latent shape when img2img is off.
  checkpoint();
  const low = (await graphs.lowlevel.runOnce(voxelInput, ["latent"])).latent!;
  const latentDims = [n, ...low.dims.slice(1)];
  let blurry: FloatTensor | undefined;
  if (useImg2img || options.outputs.has("blurry")) {
    const decoded = await graphs.vae_decoder.runOnce(
      { latent: { data: unscaleLatent(low.data, vaeScaleFactor), dims: low.dims } },
      ["image"],
    );
    blurry = { data: decodedToUnit(decoded.image!.data, false), dims: decoded.image!.dims };
  }
  progress("lowlevel");

  let latents: Float32Array;
  if (blurry && useImg2img) {
    checkpoint();
    const posterior = await graphs.vae_encoder.runOnce(
      { image: { data: clipNormalize(blurry.data, blurry.dims), dims: blurry.dims } },
      ["mean", "logvar"],
    );
    const mean = posterior.mean!.data;
    const posteriorNoise = generator.fill(new Float32Array(mean.length));
    const z = samplePosterior(mean, posterior.logvar!.data, posteriorNoise, vaeScaleFactor);
    const noise = generator.fill(new Float32Array(n * z.length));
    const alphaCumprod = DECODER_VP.alphasCumprod[timesteps[start]!]!;
    latents = addNoise(repeatRows(z, n), noise, alphaCumprod, new Float32Array(noise.length), "float16");
    progress("vae_encode");
  } else {
    // UniPC's init_noise_sigma is 1: pure noise at t = 999.
    latents = generator.fill(new Float32Array(n * low.data.length));
  }

  const eps = guidedUnetDenoiser(graphs.unet, embeddings, embedDims, latentDims, options.guidanceScale);
  const solver = new UniPCMultistep(diffusersGrid(DECODER_VP, timesteps), latents.length, {
    solverOrder: 2,
    lowerOrderFinal: true,
  });
  const decoderSteps = timesteps.length - start;
  const latentSize = latents.length / n;
  for (let k = start; k < timesteps.length; k++) {
    checkpoint();
    const t = timesteps[k]!;
    const epsilon = await eps(latents, t);
    const step = k - start + 1;
    const preview =
      options.previews && args.onPreview && step % DECODER_STEPS_PER_PREVIEW === 0 && step < decoderSteps;
    // x̂₀ of the latents before this step, as the step's model output predicts it.
    const x0 = preview ? predictX0(latents, epsilon, DECODER_VP.alphasCumprod[t]!, latentSize) : null;
    solver.step(k, epsilon, latents);
    progress("decoder", step, decoderSteps);
    if (x0) {
      checkpoint();
      const decodedPreview = await graphs.vae_decoder.runOnce(
        { latent: { data: unscaleLatent(x0, vaeScaleFactor), dims: [1, ...latentDims.slice(1)] } },
        ["image"],
      );
      const image = {
        data: decodedToUnit(decodedPreview.image!.data, true),
        dims: decodedPreview.image!.dims,
      };
      await args.onPreview!({ image, step, steps: decoderSteps });
    }
  }

  checkpoint();
  const decoded = await graphs.vae_decoder.runOnce(
    { latent: { data: unscaleLatent(latents, vaeScaleFactor), dims: latentDims } },
    ["image"],
  );
  const images = { data: decodedToUnit(decoded.image!.data, true), dims: decoded.image!.dims };
  progress("vae_decode");

  checkpoint();
  const clip = (await graphs.clip_image.runOnce({ image: images }, ["image_embeds"])).image_embeds!;
  const { best, similarities } = bestOfN(clip.data, n, embedded.retrieval!.data);
  progress("select");

  const imageSize = images.data.length / n;
  const result: ReconstructionResult = { best, similarities };
  if (options.outputs.has("best")) {
    result.image = {
      data: images.data.slice(best * imageSize, (best + 1) * imageSize),
      dims: images.dims.slice(1),
    };
  }
  if (options.outputs.has("candidates")) result.candidates = images;
  if (options.outputs.has("blurry")) result.blurry = blurry;
  if (options.outputs.has("prior_embeddings")) result.priorEmbeddings = { data: embeddings, dims: embedDims };
  return result;
}

/** x̂₀ = (x_t − √(1−ᾱ_t) ε̂) / √ᾱ_t for the first `size` values (candidate 0). */
function predictX0(
  latents: Float32Array,
  eps: Float32Array,
  alphaCumprod: number,
  size: number,
): Float32Array {
  const signal = Math.sqrt(alphaCumprod);
  const noise = Math.sqrt(1 - alphaCumprod);
  const x0 = new Float32Array(size);
  for (let i = 0; i < size; i++) x0[i] = (latents[i]! - noise * eps[i]!) / signal;
  return x0;
}

/** emb[s] /= ‖emb[s, 0]‖ + 1e-6 for each sample s (reference §1.2 row 7). */
function normalizeByClsToken(embeddings: Float32Array, n: number, tokens: number, dim: number): void {
  for (let s = 0; s < n; s++) {
    const row = embeddings.subarray(s * tokens * dim, (s + 1) * tokens * dim);
    let squares = 0;
    for (let i = 0; i < dim; i++) squares += row[i]! ** 2;
    const scale = Math.sqrt(squares) + 1e-6;
    for (let i = 0; i < row.length; i++) row[i] = row[i]! / scale;
  }
}

function checkVoxels(voxels: Float32Array, settings: ModelSettings): void {
  if (voxels.length !== settings.voxels) {
    throw new ApiError(
      "voxel_count_mismatch",
      `Model ${settings.modelId} reconstructs from one trial of ${settings.voxels} voxels; got ${voxels.length}.`,
    );
  }
  const bad = voxels.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new ApiError("non_finite_values", `Voxel ${bad} is ${voxels[bad]}; send finite betas.`);
  }
}
