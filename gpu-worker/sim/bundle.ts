/**
 * Writes the sim01 model bundle: voxel2clip.onnx (the ridge fit), clip_image.onnx (the stand-in CLIP),
 * mask.npy (uint8 over the grid, C order) and manifest.json with the sha256 of every file, in the shape
 * core/contracts/bundle-manifest.ts defines and gpu-worker/bundles/load-bundle.ts verifies.
 */
import { createHash } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BundleManifest } from "../../core/contracts/bundle-manifest.ts";
import { encodeNpy } from "../../core/npy/index.ts";
import { clipImageGraph, voxel2clipGraph } from "./onnx-graphs.ts";
import type { RidgeFit } from "./ridge.ts";
import {
  GRID,
  IMAGE_SIZE,
  MODEL_ID,
  PATCH_VALUES,
  SEED,
  TOKEN_DIM,
  TOKENS,
  TRIALS_PER_SESSION,
} from "./sim01-spec.ts";
import type { World } from "./world.ts";

/** The embedding space sim01's vectors live in: the stand-in CLIP's tokens. */
export const SIM_SPACE = "sim01-clip-standin";
/** The backbone's own space: the stand-in CLIP tokens rotated (backbone-space.ts). */
export const BACKBONE_SPACE = "sim01-backbone";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

export function manifestFor(fit: RidgeFit, voxels: number, files: Record<string, string>): BundleManifest {
  const tokens = (normalization: "none" | "flatten_l2", space = SIM_SPACE) => ({
    tokens: TOKENS,
    dim: TOKEN_DIM,
    space,
    normalization,
  });
  const embeddingShape = ["batch", TOKENS, TOKEN_DIM];
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
    graphs: {
      voxel2clip: {
        file: "voxel2clip.onnx",
        external_data: [],
        precision: "float32",
        parameters: fit.weights.length + fit.bias.length + fit.bias.length ** 2,
        inputs: [{ name: "voxels", dtype: "float32", shape: ["batch", voxels] }],
        outputs: [
          { name: "backbone", dtype: "float32", shape: embeddingShape },
          { name: "retrieval", dtype: "float32", shape: embeddingShape },
        ],
      },
      clip_image: {
        file: "clip_image.onnx",
        external_data: [],
        precision: "float32",
        parameters: 2 * PATCH_VALUES * TOKEN_DIM,
        inputs: [{ name: "image", dtype: "float32", shape: ["batch", 3, IMAGE_SIZE, IMAGE_SIZE] }],
        outputs: [{ name: "embedding", dtype: "float32", shape: embeddingShape }],
      },
    },
    sampler: {},
    source: {
      checkpoints: [],
      random_init: false,
      seed: SEED,
      config: `sim01: ridge on per-session z-scored training trials, backbone rotated from the retrieval space, lambda ${fit.lambda.toPrecision(6)} (${fit.relativeLambda} x mean eigenvalue)`,
      torch: "none (graphs built in TypeScript with onnx-proto)",
      onnx_opset: 13,
    },
    files,
  };
}

/** Writes the bundle folder afresh; returns its manifest. */
export async function writeBundle(dir: string, world: World, fit: RidgeFit): Promise<BundleManifest> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const voxels = world.subject.roiFileOffsets.length;
  const contents: Record<string, Uint8Array> = {
    "clip_image.onnx": clipImageGraph(world.encoder),
    "mask.npy": encodeNpy(world.subject.mask, GRID),
    "voxel2clip.onnx": voxel2clipGraph(fit, voxels, world.backboneRotation),
  };
  const files: Record<string, string> = {};
  for (const [name, bytes] of Object.entries(contents)) {
    await writeFile(join(dir, name), bytes);
    files[name] = sha256(bytes);
  }
  const manifest = manifestFor(fit, voxels, files);
  await writeFile(join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
