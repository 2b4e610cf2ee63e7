import type { TrainingInput } from "../contracts/bundle-manifest.ts";

/**
 * How the API reaches the model server. `mindeye serve` implements it in-process (gpu-worker), a
 * deployment over HTTP (`WORKER_URL`, core/inference/http-client.ts). Tensors are row-major Float32Arrays.
 */
export type EmbeddingOutput = "backbone" | "retrieval";

export interface Tensor {
  data: Float32Array;
  shape: number[];
}

export interface ModelInputSpace {
  /** Voxels the model takes, in numpy C order over the (x, y, z) volume. */
  voxels: number;
  /** The volume grid masked server-side, or null when the model takes pre-masked input only. */
  grid: [number, number, number] | null;
  /** What the model's training inputs looked like (bundle manifest `input.training`), when recorded. */
  training?: TrainingInput;
}

/** What a model can serve; `missing_for_reconstruction` names the bundle graphs reconstruction still needs. */
export interface ModelCapabilities {
  embeddings: boolean;
  retrieval: boolean;
  reconstruction: boolean;
  missing_for_reconstruction: string[];
}

/** The reconstruction settings a request gets when it leaves them out: the bundle's own (its manifest's sampler). */
export interface ReconstructionDefaults {
  samples: number;
  seed: number;
  decoder_steps: number;
  guidance_scale: number;
  img2img_strength: number;
}

export interface ModelDescription {
  id: string;
  family: string;
  subject: string;
  version: string;
  input: ModelInputSpace;
  outputs: Record<EmbeddingOutput, { shape: number[] }>;
  capabilities: ModelCapabilities;
  /** Present when the model can reconstruct. */
  reconstruction_defaults?: ReconstructionDefaults;
  /** sha256 of every bundle file, by file name. */
  hashes: Record<string, string>;
}

export interface EmbedTiming {
  queue_ms: number;
  run_ms: number;
  /** Size of the batch this request ran in (>1 when the batcher coalesced concurrent requests). */
  batch_size: number;
}

export interface InferenceService {
  listModels(): Promise<ModelDescription[]>;
  /** Throws ApiError model_not_found. */
  getModel(id: string): Promise<ModelDescription>;
  /** The model's voxel mask over its grid (1 = in), or null for pre-masked-only models. */
  getMask(id: string): Promise<Uint8Array | null>;
  /** Embeds `[trials, voxels]` betas; a request whose signal aborts leaves its batch. */
  embed(
    model: string,
    betas: Tensor,
    outputs: EmbeddingOutput[],
    signal?: AbortSignal,
  ): Promise<{ outputs: Partial<Record<EmbeddingOutput, Tensor>>; timing: EmbedTiming }>;
  /** Throws when models are not loaded and warm. */
  ready(): Promise<void>;
}
