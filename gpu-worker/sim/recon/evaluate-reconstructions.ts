/**
 * Reconstructs sim01's held-out test images through `reconstruct` on the world's bundle and scores them
 * (image-metrics.ts), beside the controls that must lose: the voxels shuffled (a fixed permutation of each
 * trial's voxels), the prior skipped (its graph replaced by one returning the brain embedding itself, so
 * the decoder is conditioned on the backbone) and best-of-N replaced by a seeded random pick.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBundle } from "../../bundles/load-bundle.ts";
import { modelSettings } from "../../reconstruction/model-settings.ts";
import { reconstruct } from "../../reconstruction/reconstruct.ts";
import { openReconstructionGraphs, releaseGraphs } from "../../reconstruction/reconstruction-graphs.ts";
import { floatInput, model, node, scalar } from "../../test-graphs/onnx-builder.ts";
import { encodeImage, imageTensor } from "../encoder.ts";
import { Prng } from "../prng.ts";
import type { RidgeFit } from "../ridge.ts";
import { EMBEDDING_VALUES, IMAGE_SIZE, TOKEN_DIM, TOKENS } from "../sim01-spec.ts";
import type { World } from "../world.ts";
import type { HeldOutTrial } from "./held-out-trials.ts";
import { pixCorr, ssim, twoWayIdentification } from "./image-metrics.ts";
import { writeReconBundle } from "./recon-bundle.ts";
import { IMAGE_EMBED_SCALE } from "./recon-graphs.ts";
import type { ReconWorld } from "./recon-world.ts";

export const CONDITIONS = ["sim01", "voxels_shuffled", "prior_skipped", "random_pick"] as const;
export type Condition = (typeof CONDITIONS)[number];

export interface ConditionScores {
  condition: Condition;
  pixCorr: number;
  ssim: number;
  identification: number;
  /** Wall seconds per reconstruction. */
  seconds: number;
  /** The reconstructed images, [3, 64, 64] each, in trial order. */
  images: Float32Array[];
}

/** A prior that ignores the noisy embedding and predicts the brain embedding (scaled), so DDPM returns it. */
function passThroughPrior(): Uint8Array {
  const dims = ["batch", TOKENS, TOKEN_DIM];
  return model("sim01_prior_skipped", {
    initializer: [scalar("scale", IMAGE_EMBED_SCALE)],
    node: [node("Mul", ["brain_embed", "scale"], ["pred_image_embed"])],
    input: [
      floatInput("noisy_image_embed", dims),
      floatInput("timestep", ["batch"]),
      floatInput("brain_embed", dims),
    ],
    output: [floatInput("pred_image_embed", dims)],
  });
}

export async function evaluateReconstructions(args: {
  world: World;
  fit: RidgeFit;
  recon: ReconWorld;
  trials: HeldOutTrial[];
  /** reconstruct's options (samples, decoder_steps, ...); seed is set per trial. */
  options?: Record<string, unknown>;
  conditions?: readonly Condition[];
}): Promise<ConditionScores[]> {
  const { world, fit, recon, trials } = args;
  const dir = await mkdtemp(join(tmpdir(), "sim01-recon-"));
  const voxels = world.subject.roiFileOffsets.length;
  const permutation = new Prng(7).shuffle(Array.from({ length: voxels }, (_, i) => i));
  const pick = new Prng(11);
  try {
    const scores: ConditionScores[] = [];
    for (const condition of args.conditions ?? CONDITIONS) {
      const bundleDir = join(dir, condition);
      await writeReconBundle(bundleDir, world, fit, recon, {
        replace: condition === "prior_skipped" ? { prior: passThroughPrior() } : {},
      });
      const bundle = await loadBundle(bundleDir);
      const settings = modelSettings(bundle.manifest);
      const graphs = await openReconstructionGraphs(bundle, { providers: ["cpu"], intraOpThreads: 1 });
      const images: Float32Array[] = [];
      const started = performance.now();
      try {
        for (const [t, trial] of trials.entries()) {
          const input =
            condition === "voxels_shuffled"
              ? Float32Array.from(permutation, (i) => trial.voxels[i]!)
              : trial.voxels;
          const random = condition === "random_pick";
          const result = await reconstruct({
            graphs,
            settings,
            voxels: input,
            options: { ...args.options, seed: 1000 + t, outputs: [random ? "candidates" : "best"] },
          });
          if (random) {
            const n = result.similarities.length;
            const size = result.candidates!.data.length / n;
            const chosen = pick.int(0, n);
            images.push(result.candidates!.data.slice(chosen * size, (chosen + 1) * size));
          } else images.push(result.image!.data);
        }
      } finally {
        await releaseGraphs(graphs);
      }
      const seconds = (performance.now() - started) / 1000 / trials.length;
      scores.push({ condition, ...score(world, trials, images), seconds, images });
    }
    return scores;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function score(world: World, trials: HeldOutTrial[], images: Float32Array[]) {
  const truths = trials.map((t) => imageTensor(world.pixels[t.stimulus]!));
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  return {
    pixCorr: mean(images.map((image, i) => pixCorr(image, truths[i]!))),
    ssim: mean(images.map((image, i) => ssim(image, truths[i]!, IMAGE_SIZE))),
    identification: twoWayIdentification(
      images.map((image) => encodeImage(world.encoder, image)),
      trials.map((t) =>
        world.embeddings.subarray(t.stimulus * EMBEDDING_VALUES, (t.stimulus + 1) * EMBEDDING_VALUES),
      ),
    ),
  };
}
