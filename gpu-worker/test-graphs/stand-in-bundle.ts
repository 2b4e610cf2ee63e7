/**
 * A MindEye1 bundle whose seven graphs have the real signatures (decoder-graphs contract) and tiny,
 * closed-form insides, so the pipeline runs exactly the code a real bundle runs and a test can predict
 * its output:
 * - voxel2clip: backbone = voxels·W_b, retrieval = voxels·W_r, reshaped [batch, tokens, dim];
 * - prior: the exact x̂₀ of a Gaussian world whose mean is the brain embedding (σ = `priorSigma`);
 * - lowlevel: latent = voxels·W_l reshaped [batch, 4, h, w];
 * - vae_decoder: image = nearest-×8 upsampling of a 1×1 convolution 4 -> 3 of the latent;
 * - vae_encoder: 8×8 average pool, then 1×1 convolutions 3 -> 4 for mean and for logvar (clamped to [−30, 20]);
 * - unet: the exact ε̂ of a Gaussian world with μ = μ_u + mean(context) per row (σ = `unetSigma`);
 * - clip_image: 8×8 average pool, flattened, ·W_c [3·h·w, dim], plus a per-token bias [tokens, dim].
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BundleManifest, GraphName } from "../../core/contracts/bundle-manifest.ts";
import { readOnnxSignature } from "../bundles/onnx-signature.ts";
import { DECODER_SCHEDULE, mindeye1SamplerSettings } from "../reconstruction/model-settings.ts";
import { cosineSchedule } from "../samplers/cosine-schedule.ts";
import { GaussianGenerator } from "../samplers/gaussian-generator.ts";
import { scaledLinearSchedule } from "../samplers/scaled-linear-schedule.ts";
import { gaussianPriorGraph, gaussianUnetGraph } from "./gaussian-world-graphs.ts";
import { floatInput, floatTensor, int64Tensor, ints, model, node, scalar, str } from "./onnx-builder.ts";

export interface StandInSizes {
  voxels: number;
  tokens: number;
  dim: number;
  /** Latent side h = w; the image side is 8× it. */
  latentSize: number;
}

export interface StandInWeights {
  sizes: StandInSizes;
  backbone: Float32Array;
  retrieval: Float32Array;
  lowlevel: Float32Array;
  /** [3, 4] and [3] */
  decoder: Float32Array;
  decoderBias: Float32Array;
  /** [4, 3] and [4] each */
  encoderMean: Float32Array;
  encoderMeanBias: Float32Array;
  encoderLogvar: Float32Array;
  encoderLogvarBias: Float32Array;
  /** [3·h·w, dim] and [tokens, dim] */
  clip: Float32Array;
  clipTokenBias: Float32Array;
  priorSigma: number;
  unetSigma: number;
  muUnconditional: number;
}

export const FULL_WIDTH: StandInSizes = { voxels: 16, tokens: 257, dim: 768, latentSize: 64 };
export const TINY: StandInSizes = { voxels: 12, tokens: 5, dim: 8, latentSize: 2 };

export function standInWeights(
  sizes: StandInSizes,
  seed: number,
  world: { priorSigma: number; unetSigma: number } = { priorSigma: 0, unetSigma: 0 },
): StandInWeights {
  const generator = new GaussianGenerator(seed);
  const draw = (n: number, scale: number) => generator.fill(new Float32Array(n)).map((v) => v * scale);
  const flat = sizes.tokens * sizes.dim;
  const latent = 4 * sizes.latentSize ** 2;
  return {
    sizes,
    backbone: draw(sizes.voxels * flat, 1 / Math.sqrt(sizes.voxels)),
    retrieval: draw(sizes.voxels * flat, 1 / Math.sqrt(sizes.voxels)),
    lowlevel: draw(sizes.voxels * latent, 0.1 / Math.sqrt(sizes.voxels)),
    // Like the real VAE, the decoder sees latent / 0.18215 and maps it to about [−1, 1].
    decoder: draw(12, 0.05),
    decoderBias: draw(3, 0.3),
    encoderMean: draw(12, 2),
    encoderMeanBias: draw(4, 0.1),
    encoderLogvar: draw(12, 0.5),
    encoderLogvarBias: new Float32Array(4).fill(-2),
    clip: draw(3 * sizes.latentSize ** 2 * sizes.dim, 1 / Math.sqrt(3 * sizes.latentSize ** 2)),
    clipTokenBias: draw(flat, 0.1),
    ...world,
    muUnconditional: 0.1,
  };
}

function graphs(w: StandInWeights): Record<GraphName, Uint8Array> {
  const { voxels, tokens, dim, latentSize } = w.sizes;
  const flat = tokens * dim;
  const image = 8 * latentSize;
  const latentFlat = 4 * latentSize ** 2;
  const pooled = 3 * latentSize ** 2;
  const pool8 = (input: string, output: string) =>
    node("AveragePool", [input], [output], [ints("kernel_shape", [8, 8]), ints("strides", [8, 8])]);
  const vp = scaledLinearSchedule(
    DECODER_SCHEDULE.trainTimesteps,
    DECODER_SCHEDULE.betaStart,
    DECODER_SCHEDULE.betaEnd,
  );
  return {
    voxel2clip: model("standin_voxel2clip", {
      initializer: [
        floatTensor("w_backbone", [voxels, flat], w.backbone),
        floatTensor("w_retrieval", [voxels, flat], w.retrieval),
        int64Tensor("token_shape", [-1, tokens, dim]),
      ],
      node: [
        node("MatMul", ["voxels", "w_backbone"], ["backbone_flat"]),
        node("Reshape", ["backbone_flat", "token_shape"], ["backbone"]),
        node("MatMul", ["voxels", "w_retrieval"], ["retrieval_flat"]),
        node("Reshape", ["retrieval_flat", "token_shape"], ["retrieval"]),
      ],
      input: [floatInput("voxels", ["batch", voxels])],
      output: [
        floatInput("backbone", ["batch", tokens, dim]),
        floatInput("retrieval", ["batch", tokens, dim]),
      ],
    }),
    prior: gaussianPriorGraph({
      alphasCumprod: cosineSchedule(100).alphasCumprod,
      sigma: w.priorSigma,
      tokens,
      dim,
    }),
    lowlevel: model("standin_lowlevel", {
      initializer: [
        floatTensor("w_lowlevel", [voxels, latentFlat], w.lowlevel),
        int64Tensor("latent_shape", [-1, 4, latentSize, latentSize]),
      ],
      node: [
        node("MatMul", ["voxels", "w_lowlevel"], ["latent_flat"]),
        node("Reshape", ["latent_flat", "latent_shape"], ["latent"]),
      ],
      input: [floatInput("voxels", ["batch", voxels])],
      output: [floatInput("latent", ["batch", 4, latentSize, latentSize])],
    }),
    vae_decoder: model("standin_vae_decoder", {
      initializer: [
        floatTensor("w_decoder", [3, 4, 1, 1], w.decoder),
        floatTensor("b_decoder", [3], w.decoderBias),
        floatTensor("roi", [0], []),
        floatTensor("scales", [4], [1, 1, 8, 8]),
      ],
      node: [
        node("Conv", ["latent", "w_decoder", "b_decoder"], ["small"]),
        node(
          "Resize",
          ["small", "roi", "scales"],
          ["image"],
          [
            str("mode", "nearest"),
            str("coordinate_transformation_mode", "asymmetric"),
            str("nearest_mode", "floor"),
          ],
        ),
      ],
      input: [floatInput("latent", ["batch", 4, latentSize, latentSize])],
      output: [floatInput("image", ["batch", 3, image, image])],
    }),
    vae_encoder: model("standin_vae_encoder", {
      initializer: [
        floatTensor("w_mean", [4, 3, 1, 1], w.encoderMean),
        floatTensor("b_mean", [4], w.encoderMeanBias),
        floatTensor("w_logvar", [4, 3, 1, 1], w.encoderLogvar),
        floatTensor("b_logvar", [4], w.encoderLogvarBias),
        scalar("logvar_min", -30),
        scalar("logvar_max", 20),
      ],
      node: [
        pool8("image", "pooled"),
        node("Conv", ["pooled", "w_mean", "b_mean"], ["mean"]),
        node("Conv", ["pooled", "w_logvar", "b_logvar"], ["logvar_raw"]),
        node("Clip", ["logvar_raw", "logvar_min", "logvar_max"], ["logvar"]),
      ],
      input: [floatInput("image", ["batch", 3, image, image])],
      output: [
        floatInput("mean", ["batch", 4, latentSize, latentSize]),
        floatInput("logvar", ["batch", 4, latentSize, latentSize]),
      ],
    }),
    unet: gaussianUnetGraph({
      alphasCumprod: vp.alphasCumprod,
      sigma: w.unetSigma,
      muUnconditional: w.muUnconditional,
      channels: 4,
      height: latentSize,
      width: latentSize,
      tokens,
      dim,
    }),
    clip_image: model("standin_clip_image", {
      initializer: [
        floatTensor("w_clip", [pooled, dim], w.clip),
        floatTensor("token_bias", [tokens, dim], w.clipTokenBias),
        int64Tensor("pooled_shape", [-1, 1, pooled]),
      ],
      node: [
        pool8("image", "pooled_image"),
        node("Reshape", ["pooled_image", "pooled_shape"], ["pooled_flat"]),
        node("MatMul", ["pooled_flat", "w_clip"], ["image_feature"]),
        node("Add", ["image_feature", "token_bias"], ["image_embeds"]),
      ],
      input: [floatInput("image", ["batch", 3, "height", "width"])],
      output: [floatInput("image_embeds", ["batch", tokens, dim])],
    }),
  };
}

/**
 * Writes the bundle folder (graphs + manifest with MindEye1's sampler settings); returns its path.
 * `replace` swaps in other graphs of the same signatures (e.g. the exporter's real-topology ones).
 */
export async function writeStandInBundle(
  dir: string,
  weights: StandInWeights,
  options: { id?: string; replace?: Partial<Record<GraphName, Uint8Array>> } = {},
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const files: Record<string, string> = {};
  const specs: BundleManifest["graphs"] = {};
  const all = { ...graphs(weights), ...options.replace };
  for (const [name, bytes] of Object.entries(all) as [GraphName, Uint8Array][]) {
    const file = `${name}.onnx`;
    await writeFile(join(dir, file), bytes);
    files[file] = createHash("sha256").update(bytes).digest("hex");
    const signature = await readOnnxSignature(join(dir, file));
    specs[name] = { file, external_data: [], precision: "float32", parameters: 0, ...signature };
  }
  const { tokens, dim } = weights.sizes;
  const space = { tokens, dim, space: "standin", normalization: "none" as const };
  const manifest: BundleManifest = {
    schema_version: 1,
    id: options.id ?? "standin",
    family: "mindeye1",
    subject: "standin",
    version: "1",
    input: { voxels: weights.sizes.voxels, dtype: "float32", grid: null, mask: null },
    embeddings: { backbone: space, retrieval: space, clip_image: space },
    graphs: specs,
    sampler: mindeye1SamplerSettings({
      imageEmbedScale: Math.sqrt(768),
      vaeScaleFactor: 0.18215,
      guidanceScale: 3.5,
    }),
    source: {
      checkpoints: [],
      random_init: true,
      seed: null,
      config: "stand-in graphs built in TypeScript (gpu-worker/test-graphs/stand-in-bundle.ts)",
      torch: "none",
      onnx_opset: 13,
    },
    files,
  };
  await writeFile(join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return dir;
}
