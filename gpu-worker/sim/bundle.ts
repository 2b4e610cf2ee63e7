/**
 * Writes the sim01 model bundle, one that embeds and reconstructs: mask.npy (uint8 over the grid, C order),
 * voxel2clip.onnx (the ridge fit), the reconstruction world's prior, lowlevel, vae_encoder, unet and
 * vae_decoder (recon/), clip_image.onnx (the stand-in CLIP), and manifest.json with MindEye1's sampler
 * settings, every graph's signature read back from its file and the sha256 of every file, in the shape
 * core/contracts/bundle-manifest.ts defines and gpu-worker/bundles/load-bundle.ts verifies.
 */
import { createHash } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pkg from "onnx-proto";
import type { BundleManifest, GraphName, GraphSpec } from "../../core/contracts/bundle-manifest.ts";
import { encodeNpy } from "../../core/npy/index.ts";
import { readOnnxSignature } from "../bundles/onnx-signature.ts";
import { mindeye1SamplerSettings } from "../reconstruction/model-settings.ts";
import { clipImageGraph, voxel2clipGraph } from "./onnx-graphs.ts";
import { VAE_SCALE_FACTOR } from "./recon/latent-basis.ts";
import {
  IMAGE_EMBED_SCALE,
  lowlevelGraph,
  priorGraph,
  unetGraph,
  vaeDecoderGraph,
  vaeEncoderGraph,
} from "./recon/recon-graphs.ts";
import type { ReconWorld } from "./recon/recon-world.ts";
import type { RidgeFit } from "./ridge.ts";
import { GRID, MODEL_ID, SEED, TOKEN_DIM, TOKENS, TRIALS_PER_SESSION } from "./sim01-spec.ts";
import type { World } from "./world.ts";

const { onnx } = pkg;

/** The embedding space sim01's vectors live in: the stand-in CLIP's tokens. */
export const SIM_SPACE = "sim01-clip-standin";
/** The backbone's own space: the stand-in CLIP tokens rotated (backbone-space.ts). */
export const BACKBONE_SPACE = "sim01-backbone";

/** MindEye1's sampler settings (reference §1.2); guidance is 1 because the UNet world is the exact conditional. */
export const SIM01_SAMPLER: BundleManifest["sampler"] = mindeye1SamplerSettings({
  imageEmbedScale: IMAGE_EMBED_SCALE,
  vaeScaleFactor: VAE_SCALE_FACTOR,
  guidanceScale: 1,
});

export const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

export function sim01Graphs(world: World, fit: RidgeFit, recon: ReconWorld): Record<GraphName, Uint8Array> {
  const voxels = world.subject.roiFileOffsets.length;
  return {
    voxel2clip: voxel2clipGraph(fit, voxels, world.backboneRotation),
    prior: priorGraph(recon),
    lowlevel: lowlevelGraph(recon, voxels),
    vae_decoder: vaeDecoderGraph(recon),
    vae_encoder: vaeEncoderGraph(recon),
    unet: unetGraph(recon),
    clip_image: clipImageGraph(world.encoder),
  } as Record<GraphName, Uint8Array>;
}

/** Float values held in a graph's initializers. */
function parameterCount(bytes: Uint8Array): number {
  const graph = onnx.ModelProto.decode(bytes).graph!;
  return (graph.initializer ?? [])
    .filter((t) => t.dataType === onnx.TensorProto.DataType.FLOAT)
    .reduce((n, t) => n + (t.dims ?? []).reduce<number>((p, d) => p * Number(d), 1), 0);
}

/** Writes `<dir>/<name>.onnx` and returns its manifest entry (signature read back from the file). */
export async function writeGraph(dir: string, name: GraphName, bytes: Uint8Array): Promise<GraphSpec> {
  const file = `${name}.onnx`;
  await writeFile(join(dir, file), bytes);
  return {
    file,
    external_data: [],
    precision: "float32",
    parameters: parameterCount(bytes),
    ...(await readOnnxSignature(join(dir, file))),
  };
}

function manifestFor(
  fit: RidgeFit,
  voxels: number,
  graphs: BundleManifest["graphs"],
  files: Record<string, string>,
): BundleManifest {
  const tokens = (normalization: "none" | "flatten_l2", space = SIM_SPACE) => ({
    tokens: TOKENS,
    dim: TOKEN_DIM,
    space,
    normalization,
  });
  return {
    schema_version: 1,
    id: MODEL_ID,
    family: "mindeye1",
    subject: MODEL_ID,
    version: "1",
    input: {
      voxels,
      dtype: "float32",
      grid: GRID,
      mask: { file: "mask.npy", format: "npy", order: "C" },
      // The fit's inputs: sessions divided by 300 and z-scored per voxel over all their trials.
      training: {
        zscore: "session",
        session_trials: TRIALS_PER_SESSION,
        voxel_mean: 0,
        voxel_std: 1,
        units: "percent signal change, stored x300 as int16",
      },
    },
    embeddings: {
      backbone: tokens("none", BACKBONE_SPACE),
      retrieval: tokens("flatten_l2"),
      clip_image: tokens("none"),
    },
    graphs,
    sampler: SIM01_SAMPLER,
    source: {
      checkpoints: [],
      random_init: false,
      seed: SEED,
      config: `sim01: ridge on per-session z-scored training trials, backbone rotated from the retrieval space, lambda ${fit.lambda.toPrecision(6)} (${fit.relativeLambda} x mean eigenvalue); Gaussian reconstruction world fitted on the training stimuli`,
      torch: "none (graphs built in TypeScript with onnx-proto)",
      onnx_opset: 13,
    },
    files,
  };
}

/** Writes the bundle folder afresh; returns its manifest. */
export async function writeBundle(
  dir: string,
  world: World,
  fit: RidgeFit,
  recon: ReconWorld,
): Promise<BundleManifest> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const files: Record<string, string> = {};
  const graphs: BundleManifest["graphs"] = {};
  const mask = encodeNpy(world.subject.mask, GRID);
  await writeFile(join(dir, "mask.npy"), mask);
  files["mask.npy"] = sha256(mask);
  for (const [name, bytes] of Object.entries(sim01Graphs(world, fit, recon))) {
    graphs[name as GraphName] = await writeGraph(dir, name as GraphName, bytes);
    files[`${name}.onnx`] = sha256(bytes);
  }
  const manifest = manifestFor(fit, world.subject.roiFileOffsets.length, graphs, files);
  await writeFile(join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
