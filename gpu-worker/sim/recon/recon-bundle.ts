/**
 * Writes sim01 as a bundle that reconstructs: the sim01 bundle's voxel2clip and mask (bundle.ts), plus the
 * world's prior, lowlevel, vae_decoder, vae_encoder, unet and clip_image graphs and MindEye1's sampler
 * settings, every graph's signature read back from its file. `replace` swaps graphs of the same signature
 * in (the controls of the measurement do).
 */
import { createHash } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pkg from "onnx-proto";
import type { BundleManifest, GraphName } from "../../../core/contracts/bundle-manifest.ts";
import { encodeNpy } from "../../../core/npy/index.ts";
import { readOnnxSignature } from "../../bundles/onnx-signature.ts";
import { mindeye1SamplerSettings } from "../../reconstruction/model-settings.ts";
import { manifestFor } from "../bundle.ts";
import { voxel2clipGraph } from "../onnx-graphs.ts";
import type { RidgeFit } from "../ridge.ts";
import { GRID } from "../sim01-spec.ts";
import type { World } from "../world.ts";
import { VAE_SCALE_FACTOR } from "./latent-basis.ts";
import {
  clipImageEmbedsGraph,
  IMAGE_EMBED_SCALE,
  lowlevelGraph,
  priorGraph,
  unetGraph,
  vaeDecoderGraph,
  vaeEncoderGraph,
} from "./recon-graphs.ts";
import type { ReconWorld } from "./recon-world.ts";

const { onnx } = pkg;

/** MindEye1's sampler settings (reference §1.2); guidance is 1 because the UNet world is the exact conditional. */
export const SIM01_SAMPLER: BundleManifest["sampler"] = mindeye1SamplerSettings({
  imageEmbedScale: IMAGE_EMBED_SCALE,
  vaeScaleFactor: VAE_SCALE_FACTOR,
  guidanceScale: 1,
});

export function reconGraphs(world: World, fit: RidgeFit, recon: ReconWorld): Record<GraphName, Uint8Array> {
  const voxels = world.subject.roiFileOffsets.length;
  return {
    voxel2clip: voxel2clipGraph(fit, voxels, world.backboneRotation),
    prior: priorGraph(recon),
    lowlevel: lowlevelGraph(recon, voxels),
    vae_decoder: vaeDecoderGraph(recon),
    vae_encoder: vaeEncoderGraph(recon),
    unet: unetGraph(recon),
    clip_image: clipImageEmbedsGraph(world.encoder),
  } as Record<GraphName, Uint8Array>;
}

/** Float values held in a graph's initializers. */
function parameterCount(bytes: Uint8Array): number {
  const graph = onnx.ModelProto.decode(bytes).graph!;
  return (graph.initializer ?? [])
    .filter((t) => t.dataType === onnx.TensorProto.DataType.FLOAT)
    .reduce((n, t) => n + (t.dims ?? []).reduce<number>((p, d) => p * Number(d), 1), 0);
}

export async function writeReconBundle(
  dir: string,
  world: World,
  fit: RidgeFit,
  recon: ReconWorld,
  options: { replace?: Partial<Record<GraphName, Uint8Array>> } = {},
): Promise<BundleManifest> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const files: Record<string, string> = {};
  const graphs: BundleManifest["graphs"] = {};
  const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
  const mask = encodeNpy(world.subject.mask, GRID);
  await writeFile(join(dir, "mask.npy"), mask);
  files["mask.npy"] = sha256(mask);
  for (const [name, bytes] of Object.entries({ ...reconGraphs(world, fit, recon), ...options.replace })) {
    const file = `${name}.onnx`;
    await writeFile(join(dir, file), bytes);
    files[file] = sha256(bytes);
    const signature = await readOnnxSignature(join(dir, file));
    graphs[name as GraphName] = {
      file,
      external_data: [],
      precision: "float32",
      parameters: parameterCount(bytes),
      ...signature,
    };
  }
  const manifest: BundleManifest = {
    ...manifestFor(fit, world.subject.roiFileOffsets.length, files),
    graphs,
    sampler: SIM01_SAMPLER,
  };
  await writeFile(join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
