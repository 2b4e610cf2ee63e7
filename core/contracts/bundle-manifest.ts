import { z } from "zod";

/**
 * manifest.json of a model bundle (ARCHITECTURE §5): a folder of ONNX graphs written by gpu-worker/export
 * (which builds the same JSON in gpu-worker/export/manifest.py; change both together). Paths are relative
 * to the bundle folder, use "/" and never leave it.
 */

const relativePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith("/") && !p.includes("\\") && !p.split("/").includes(".."), {
    message: "must be a relative path inside the bundle",
  });

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be a lowercase hex sha256");

/** The graphs a bundle may carry (MindEye1 names; MindEye2 will add its own). */
export const GRAPH_NAMES = [
  "voxel2clip",
  "lowlevel",
  "prior",
  "unet",
  "vae_decoder",
  "vae_encoder",
  "clip_image",
] as const;
export const GraphName = z.enum(GRAPH_NAMES);
export type GraphName = z.infer<typeof GraphName>;

export const TensorDtype = z.enum(["float32", "float16", "int64", "int32"]);
export type TensorDtype = z.infer<typeof TensorDtype>;

/** A tensor in a graph's signature; a string dimension is symbolic (e.g. "batch"). */
export const TensorSpec = z.object({
  name: z.string().min(1),
  dtype: TensorDtype,
  shape: z.array(z.union([z.number().int().nonnegative(), z.string().min(1)])),
});
export type TensorSpec = z.infer<typeof TensorSpec>;

export const GraphSpec = z.object({
  file: relativePath,
  /** Files holding the graph's weights outside the .onnx (graphs over 2 GB must use them). */
  external_data: z.array(relativePath),
  /** Storage and compute type of the weights; inputs and outputs carry their own dtype. */
  precision: z.enum(["float32", "float16"]),
  parameters: z.number().int().nonnegative(),
  inputs: z.array(TensorSpec).min(1),
  outputs: z.array(TensorSpec).min(1),
});
export type GraphSpec = z.infer<typeof GraphSpec>;

export const EmbeddingSpace = z.object({
  tokens: z.number().int().positive(),
  dim: z.number().int().positive(),
  /** The space these vectors live in, e.g. "clip-vit-l14-hidden" (257x768 ViT-L/14 tokens). */
  space: z.string().min(1),
  /**
   * What a consumer does before comparing or decoding: `none`; `cls_token`: divide all tokens by the norm
   * of token 0; `flatten_l2`: flatten the tokens and L2-normalise; `l2`: L2-normalise each token.
   */
  normalization: z.enum(["none", "cls_token", "flatten_l2", "l2"]),
});
export type EmbeddingSpace = z.infer<typeof EmbeddingSpace>;

/**
 * What the model's training inputs looked like, so a request's betas can be checked against them (warnings):
 * how each session was normalised, over how many trials, and the per-voxel mean and std that results.
 */
export const TrainingInput = z.object({
  /** "session": each voxel z-scored over all trials of its session (MindEye on NSD); "none": used as given. */
  zscore: z.enum(["session", "none"]),
  /** Trials per session the z-scoring statistics came from (NSD: 750), when known. */
  session_trials: z.number().int().positive().nullable(),
  /** Typical per-voxel mean and std of single-trial training inputs (z-scored: 0 and 1). */
  voxel_mean: z.number(),
  voxel_std: z.number().positive(),
  /** What a value meant before that (e.g. NSD's percent signal change, stored x300 as int16). */
  units: z.string().min(1),
});
export type TrainingInput = z.infer<typeof TrainingInput>;

export const BundleInput = z.object({
  voxels: z.number().int().positive(),
  dtype: z.literal("float32"),
  /** The volume grid the mask applies to, or null when the bundle takes pre-masked voxel vectors only. */
  grid: z
    .tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()])
    .nullable(),
  /** Voxel i of the input is the i-th nonzero mask entry in C order over the grid (numpy `betas[mask > 0]`). */
  mask: z.object({ file: relativePath, format: z.enum(["npy", "nifti"]), order: z.literal("C") }).nullable(),
  /** Optional: bundles written before it was recorded carry none, and get no per-model input checks. */
  training: TrainingInput.optional(),
});
export type BundleInput = z.infer<typeof BundleInput>;

/** The diffusion prior's sampler (reconstruction reference §2): DALLE2-pytorch's DDPM as MindEye1 runs it. */
export const PriorSampler = z.object({
  kind: z.enum(["ddpm", "ddim"]),
  train_timesteps: z.number().int().positive(),
  steps: z.number().int().positive(),
  beta_schedule: z.enum(["cosine", "linear"]),
  /** Offset s of the cosine schedule, cos(((t/T) + s)/(1 + s) * pi/2)^2. */
  cosine_s: z.number().positive(),
  /** Betas are clipped to at most this (only the last one reaches it). */
  max_beta: z.number().positive().max(1),
  prediction: z.enum(["x_start", "epsilon", "v"]),
  /** Targets were multiplied by this in training; samples are divided by it. */
  image_embed_scale: z.number().positive(),
  cond_scale: z.number(),
  /** Samples drawn per reconstruction; the decoder decodes each one and best-of-N picks one of them. */
  samples: z.number().int().positive(),
  /** One generator seeded with this for the whole reconstruction, re-seeded for every image (§1.3). */
  seed: z.number().int(),
});

/** The image decoder's sampler (§3): diffusers 0.13's UniPC on Versatile Diffusion's schedule, with guidance. */
export const DecoderSampler = z.object({
  kind: z.enum(["unipc", "ddim", "euler"]),
  solver_type: z.enum(["bh1", "bh2"]),
  solver_order: z.number().int().min(1).max(3),
  /** The last step drops to first order (diffusers 0.13 applies this at any step count). */
  lower_order_final: z.boolean(),
  /** What the UNet predicts. */
  prediction: z.enum(["epsilon", "v", "x_start"]),
  train_timesteps: z.number().int().positive(),
  beta_schedule: z.enum(["scaled_linear", "linear"]),
  beta_start: z.number().positive(),
  beta_end: z.number().positive(),
  steps: z.number().int().positive(),
  /** Classifier-free guidance: eps_uncond + scale * (eps_cond - eps_uncond), unconditional rows all zeros. */
  guidance_scale: z.number(),
  /** img2img from the low-level image: the first steps * (1 - strength) of the schedule are skipped. */
  img2img_strength: z.number().min(0).max(1),
  /** Latents are this times the VAE's: the host divides before vae_decoder and multiplies after vae_encoder. */
  vae_scale_factor: z.number().positive(),
});

export const SamplerSettings = z.object({
  prior: PriorSampler.optional(),
  decoder: DecoderSampler.optional(),
});
export type SamplerSettings = z.infer<typeof SamplerSettings>;

/** Inputs and the exporter's PyTorch outputs for them, to check a runtime against (parity/). */
export const ParityCase = z.object({
  inputs: z.record(z.string(), relativePath),
  outputs: z.record(z.string(), relativePath),
  /** Max abs error allowed per output. */
  tolerance: z.record(z.string(), z.number().positive()),
});
export type ParityCase = z.infer<typeof ParityCase>;

export const BundleManifest = z.object({
  schema_version: z.literal(1),
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, "lowercase letters, digits, '.', '_' and '-'"),
  /** `mindeye1-1x768`: MindEye1's pooled 1x768 voxel2clip, the query for web-scale (LAION) retrieval. */
  family: z.enum(["mindeye1", "mindeye1-1x768", "mindeye2"]),
  /** "subj01".."subj08" for NSD subjects; other names (e.g. "sim01") for simulated or new subjects. */
  subject: z.string().regex(/^[a-z0-9]+$/),
  version: z.string().min(1),
  input: BundleInput,
  embeddings: z.record(z.string(), EmbeddingSpace),
  graphs: z.partialRecord(GraphName, GraphSpec),
  sampler: SamplerSettings,
  parity: z.partialRecord(GraphName, ParityCase).optional(),
  source: z.object({
    checkpoints: z.array(z.string()),
    random_init: z.boolean(),
    seed: z.number().int().nullable(),
    config: z.string(),
    torch: z.string(),
    onnx_opset: z.number().int().positive(),
  }),
  /** sha256 of every file in the bundle except manifest.json. */
  files: z.record(relativePath, sha256),
});
export type BundleManifest = z.infer<typeof BundleManifest>;

/** The graphs MindEye1's reconstruction runs (reference §1): prior, img2img from the low-level image, best-of-N. */
export const RECONSTRUCTION_GRAPHS = [
  "voxel2clip",
  "prior",
  "lowlevel",
  "vae_encoder",
  "unet",
  "vae_decoder",
  "clip_image",
] as const satisfies readonly GraphName[];

/** What a bundle can serve, from the graphs it holds; reconstruction names the graphs it lacks for it. */
export interface BundleCapabilities {
  embeddings: boolean;
  retrieval: boolean;
  reconstruction: boolean;
  missing_for_reconstruction: GraphName[];
}

export function bundleCapabilities(manifest: Pick<BundleManifest, "graphs" | "sampler">): BundleCapabilities {
  const embeds = manifest.graphs.voxel2clip !== undefined;
  const missing: GraphName[] = RECONSTRUCTION_GRAPHS.filter((name) => manifest.graphs[name] === undefined);
  const samplers = manifest.sampler.prior !== undefined && manifest.sampler.decoder !== undefined;
  return {
    embeddings: embeds,
    retrieval: embeds,
    reconstruction: missing.length === 0 && samplers,
    missing_for_reconstruction: missing,
  };
}
