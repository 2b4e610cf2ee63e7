/**
 * Reconstructs sim01's held-out test images through `reconstruct` on the generated sim01 bundle and scores
 * them (image-metrics.ts), beside the controls that must lose: the voxels shuffled (a fixed permutation of
 * each trial's voxels), the prior skipped (a copy of the bundle whose prior returns the brain embedding
 * itself, so the decoder is conditioned on the backbone) and best-of-N replaced by a seeded random pick among
 * the same candidates.
 * Two-way identification compares the bundle's clip_image features (the stand-in CLIP) of each
 * reconstruction with the seen images' embeddings.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BundleManifest } from "../../../core/contracts/bundle-manifest.ts";
import { loadBundle } from "../../bundles/load-bundle.ts";
import { modelSettings } from "../../reconstruction/model-settings.ts";
import { reconstruct } from "../../reconstruction/reconstruct.ts";
import {
  openReconstructionGraphs,
  type ReconstructionGraphs,
  releaseGraphs,
} from "../../reconstruction/reconstruction-graphs.ts";
import { floatInput, model, node, scalar } from "../../test-graphs/onnx-builder.ts";
import { sha256, writeGraph } from "../bundle.ts";
import { Prng } from "../prng.ts";
import { EMBEDDING_VALUES, IMAGE_SIZE, TOKEN_DIM, TOKENS } from "../sim01-spec.ts";
import type { HeldOutTrial } from "./held-out-trials.ts";
import { identificationPerTrial, pixCorr, ssim } from "./image-metrics.ts";
import { IMAGE_EMBED_SCALE } from "./recon-graphs.ts";

export const CONDITIONS = ["sim01", "voxels_shuffled", "prior_skipped", "random_pick"] as const;
export type Condition = (typeof CONDITIONS)[number];

export const METRICS = ["pixCorr", "ssim", "identification"] as const;
export type Metric = (typeof METRICS)[number];

export interface ConditionScores extends Record<Metric, number> {
  condition: Condition;
  /** Each metric per trial, in trial order (the means above are their averages). */
  perTrial: Record<Metric, number[]>;
  /** Wall seconds per reconstruction (the random pick shares sim01's run). */
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

/** A copy of the bundle at `from` with its prior replaced by the pass-through one. */
async function priorSkippedBundle(from: string, to: string): Promise<void> {
  await cp(from, to, { recursive: true });
  const manifestPath = join(to, "manifest.json");
  const manifest = JSON.parse(await readFile(manifestPath, "utf8")) as BundleManifest;
  const prior = passThroughPrior();
  manifest.graphs.prior = await writeGraph(to, "prior", prior);
  manifest.files["prior.onnx"] = sha256(prior);
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
}

export async function evaluateReconstructions(args: {
  /** The generated sim01 bundle (ensureSim01's bundleDir). */
  bundleDir: string;
  trials: HeldOutTrial[];
  /** reconstruct's options (samples, decoder_steps, ...); seed is set per trial. */
  options?: Record<string, unknown>;
}): Promise<ConditionScores[]> {
  const { trials } = args;
  const dir = await mkdtemp(join(tmpdir(), "sim01-recon-"));
  const voxels = trials[0]!.voxels.length;
  const permutation = new Prng(7).shuffle(Array.from({ length: voxels }, (_, i) => i));
  const pick = new Prng(11);
  try {
    const scores: ConditionScores[] = [];
    // The random pick chooses among the very candidates sim01's run decoded (same seeds), so the two differ
    // only in the selection.
    for (const run of ["sim01", "voxels_shuffled", "prior_skipped"] as const) {
      let bundleDir = args.bundleDir;
      if (run === "prior_skipped") {
        bundleDir = join(dir, run);
        await priorSkippedBundle(args.bundleDir, bundleDir);
      }
      const bundle = await loadBundle(bundleDir);
      const settings = modelSettings(bundle.manifest);
      const graphs = await openReconstructionGraphs(bundle, { providers: ["cpu"], intraOpThreads: 1 });
      const best: Float32Array[] = [];
      const random: Float32Array[] = [];
      try {
        const started = performance.now();
        for (const [t, trial] of trials.entries()) {
          const input =
            run === "voxels_shuffled"
              ? Float32Array.from(permutation, (i) => trial.voxels[i]!)
              : trial.voxels;
          const result = await reconstruct({
            graphs,
            settings,
            voxels: input,
            options: { ...args.options, seed: 1000 + t, outputs: ["best", "candidates"] },
          });
          best.push(result.image!.data);
          if (run === "sim01") {
            const n = result.similarities.length;
            const size = result.candidates!.data.length / n;
            const chosen = pick.int(0, n);
            random.push(result.candidates!.data.slice(chosen * size, (chosen + 1) * size));
          }
        }
        const seconds = (performance.now() - started) / 1000 / trials.length;
        scores.push({ condition: run, ...(await score(graphs, trials, best)), seconds, images: best });
        if (run === "sim01") {
          scores.push({
            condition: "random_pick",
            ...(await score(graphs, trials, random)),
            seconds,
            images: random,
          });
        }
      } finally {
        await releaseGraphs(graphs);
      }
    }
    return scores;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function score(graphs: ReconstructionGraphs, trials: HeldOutTrial[], images: Float32Array[]) {
  const batch = new Float32Array(images.length * images[0]!.length);
  images.forEach((image, i) => {
    batch.set(image, i * image.length);
  });
  const { image_embeds: features } = await graphs.clip_image.runOnce(
    { image: { data: batch, dims: [images.length, 3, IMAGE_SIZE, IMAGE_SIZE] } },
    ["image_embeds"],
  );
  const perTrial: Record<Metric, number[]> = {
    pixCorr: images.map((image, i) => pixCorr(image, trials[i]!.image)),
    ssim: images.map((image, i) => ssim(image, trials[i]!.image, IMAGE_SIZE)),
    identification: identificationPerTrial(
      images.map((_, i) => features!.data.subarray(i * EMBEDDING_VALUES, (i + 1) * EMBEDDING_VALUES)),
      trials.map((t) => t.embedding),
    ),
  };
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  return {
    perTrial,
    pixCorr: mean(perTrial.pixCorr),
    ssim: mean(perTrial.ssim),
    identification: mean(perTrial.identification),
  };
}

/** Mean and standard error over trials of a − b per trial (paired: same trials, seeds and candidates). */
export function pairedGap(
  a: ConditionScores,
  b: ConditionScores,
  metric: Metric,
): { mean: number; se: number } {
  const d = a.perTrial[metric].map((v, i) => v - b.perTrial[metric][i]!);
  const mean = d.reduce((s, v) => s + v, 0) / d.length;
  const variance = d.reduce((s, v) => s + (v - mean) ** 2, 0) / (d.length - 1);
  return { mean, se: Math.sqrt(variance / d.length) };
}
