/**
 * sim01 reconstructs, on the bundle `npm start` serves (the shared generated sim01, test/helpers/sim01-cache.ts,
 * so nothing is refitted here): its world's graphs do what their docs say (the VAE stand-in is an exact linear
 * autoencoder, the UNet is the exact ε̂ of a Gaussian world), and held-out reconstructions through
 * `reconstruct` beat every control on each metric by the margins docs/simulated-subject.md measures (MARGINS),
 * with the same PNG bytes for the same seed. Fewer decoder steps and images than the full measurement,
 * bench/sim01-reconstruction.ts.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import pkg from "onnx-proto";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { sharedSim01 } from "../../../test/helpers/sim01-cache.ts";
import { loadBundle } from "../../bundles/load-bundle.ts";
import { GraphSession } from "../../reconstruction/graph-session.ts";
import { DECODER_SCHEDULE, modelSettings } from "../../reconstruction/model-settings.ts";
import { reconstruct } from "../../reconstruction/reconstruct.ts";
import { openReconstructionGraphs, releaseGraphs } from "../../reconstruction/reconstruction-graphs.ts";
import { scaledLinearSchedule } from "../../samplers/scaled-linear-schedule.ts";
import { Prng } from "../prng.ts";
import { EMBEDDING_VALUES, IMAGE_SIZE } from "../sim01-spec.ts";
import {
  type Condition,
  type ConditionScores,
  evaluateReconstructions,
  METRICS,
  type Metric,
  pairedGap,
} from "./evaluate-reconstructions.ts";
import { type HeldOutTrial, heldOutTrials } from "./held-out-trials.ts";
import { pixCorr, ssim } from "./image-metrics.ts";
import { encodeLatent, LATENT_SIDE, LATENT_VALUES, VAE_SCALE_FACTOR } from "./latent-basis.ts";
import { clsNormalized } from "./recon-world.ts";

const { onnx } = pkg;

/** Settings of the held-out run: MindEye's N = 16 (the selection is under test), fewer decoder steps. */
const RUN = { images: 40, samples: 16, decoder_steps: 10 };
/**
 * The least sim01 must beat each control by, per metric, set from the paired gaps measured at RUN (mean ±
 * standard error over the 40 images; docs/simulated-subject.md has them and the full-settings table). Against
 * the random pick only PixCorr separates: the stand-in CLIP's similarity hardly tracks SSIM (r = 0.11 over
 * the candidates) and identification sits at its ceiling (0.99), so there the bound is a tolerance (negative):
 * best-of-N must not lose by more than about 2.5 standard errors.
 */
const MARGINS: Record<Exclude<Condition, "sim01">, Record<Metric, number>> = {
  // measured 0.723 ± 0.027, 0.358 ± 0.020, 0.529 ± 0.045
  voxels_shuffled: { pixCorr: 0.5, ssim: 0.25, identification: 0.3 },
  // measured 0.363 ± 0.025, 0.218 ± 0.017, 0.060 ± 0.017
  prior_skipped: { pixCorr: 0.25, ssim: 0.15, identification: 0.02 },
  // measured 0.025 ± 0.007, −0.000 ± 0.006, 0.001 ± 0.002
  random_pick: { pixCorr: 0.01, ssim: -0.015, identification: -0.005 },
};

let sim: Awaited<ReturnType<typeof sharedSim01>>;
let trials: HeldOutTrial[];

beforeAll(async () => {
  sim = await sharedSim01();
  trials = await heldOutTrials(sim, RUN.images);
}, 900_000);

const latentDims = [1, 4, LATENT_SIDE, LATENT_SIDE];
const openBundleGraph = (name: string) =>
  GraphSession.open(name, join(sim.bundleDir, `${name}.onnx`), { providers: ["cpu"], intraOpThreads: 1 });

/** The float initializers of one of the bundle's graphs, by name. */
async function initializers(name: string): Promise<Record<string, Float32Array>> {
  const graph = onnx.ModelProto.decode(await readFile(join(sim.bundleDir, `${name}.onnx`))).graph!;
  const out: Record<string, Float32Array> = {};
  for (const t of graph.initializer ?? []) {
    if (t.dataType !== onnx.TensorProto.DataType.FLOAT || !t.rawData) continue;
    out[t.name!] = new Float32Array(Uint8Array.from(t.rawData).buffer);
  }
  return out;
}

describe("the world's graphs in the served bundle", () => {
  it("vae_encoder inverts vae_decoder, and is the block basis at the fitted latent scale", async () => {
    const decoder = await openBundleGraph("vae_decoder");
    const encoder = await openBundleGraph("vae_encoder");
    try {
      const stimulus = trials[3]!.image;
      const toVae = (chw: Float32Array) => chw.map((v) => 2 * v - 1);
      const imageDims = [1, 3, IMAGE_SIZE, IMAGE_SIZE];
      const raw = (await encoder.runOnce({ image: { data: toVae(stimulus), dims: imageDims } }, ["mean"]))
        .mean!.data;
      // The encoder is the TypeScript basis up to one scale, the bundle's fitted latent scale.
      const coefficients = encodeLatent(stimulus, 1);
      const latentScale = coefficients[0]! / (raw[0]! * VAE_SCALE_FACTOR);
      const scaled = encodeLatent(stimulus, latentScale);
      for (let i = 0; i < LATENT_VALUES; i++) expect(raw[i]! * VAE_SCALE_FACTOR).toBeCloseTo(scaled[i]!, 4);
      // That scale puts scaled latents near unit RMS over the images (it was fitted on the training ones).
      const squares = trials.flatMap((t) => Array.from(encodeLatent(t.image, latentScale), (v) => v * v));
      expect(Math.sqrt(squares.reduce((a, b) => a + b, 0) / squares.length)).toBeGreaterThan(0.8);
      expect(Math.sqrt(squares.reduce((a, b) => a + b, 0) / squares.length)).toBeLessThan(1.25);

      const decoded = (await decoder.runOnce({ latent: { data: raw, dims: latentDims } }, ["image"])).image!;
      const back = (await encoder.runOnce({ image: decoded }, ["mean"])).mean!.data;
      for (let i = 0; i < raw.length; i++) expect(back[i]).toBeCloseTo(raw[i]!, 3);
      // The decoded image is the stimulus's block approximation: it correlates with the stimulus.
      expect(
        pixCorr(
          decoded.data.map((v) => v / 2 + 0.5),
          stimulus,
        ),
      ).toBeGreaterThan(0.7);
    } finally {
      await decoder.release();
      await encoder.release();
    }
  });

  it("unet is the exact ε̂ of a Gaussian world, and the all-zero context drops the condition", async () => {
    const unet = await openBundleGraph("unet");
    const w = await initializers("unet");
    const [muLatent, muCondition, gainT, eigenvalues, eigenvectors] = [
      w.mu_latent!,
      w.mu_condition!,
      w.gain_t!,
      w.eigenvalues!,
      w.eigenvectors!,
    ];
    const n = LATENT_VALUES;
    // Σ = U diag(λ) Uᵀ is a covariance: λ ≥ 0 and U orthonormal.
    expect(Math.min(...eigenvalues)).toBeGreaterThan(0);
    for (const [j, k] of [
      [0, 0],
      [0, 1],
      [7, 200],
      [255, 255],
    ] as const) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += eigenvectors[i * n + j]! * eigenvectors[i * n + k]!;
      expect(dot).toBeCloseTo(j === k ? 1 : 0, 4);
    }
    const rng = new Prng(3);
    const x = Float32Array.from({ length: n }, () => rng.gaussian());
    const condition = clsNormalized(trials[0]!.embedding);
    const t = 600;
    const acp = scaledLinearSchedule(
      DECODER_SCHEDULE.trainTimesteps,
      DECODER_SCHEDULE.betaStart,
      DECODER_SCHEDULE.betaEnd,
    ).alphasCumprod[t]!;
    const run = async (context: Float32Array) =>
      (
        await unet.runOnce(
          {
            sample: { data: x, dims: latentDims },
            timestep: { data: Float32Array.of(t), dims: [1] },
            encoder_hidden_states: { data: context, dims: [1, 17, 32] },
          },
          ["eps"],
        )
      ).eps!.data;
    // ε̂ = s U diag(1 / (ᾱ λ + s²)) Uᵀ (x − √ᾱ μ), μ = μ_z + A (ẽ − μ_ẽ) (μ_z alone unconditioned), in float64.
    const oracle = (conditioned: boolean) => {
      const [a, s2] = [Math.sqrt(acp), 1 - acp];
      const mu = Float64Array.from(muLatent, (m, j) => {
        if (!conditioned) return m;
        let sum = m;
        for (let i = 0; i < EMBEDDING_VALUES; i++)
          sum += gainT[i * n + j]! * (condition[i]! - muCondition[i]!);
        return sum;
      });
      const centred = Float64Array.from(x, (v, j) => v - a * mu[j]!);
      const coords = Float64Array.from({ length: n }, (_, k) => {
        let sum = 0;
        for (let j = 0; j < n; j++) sum += eigenvectors[j * n + k]! * centred[j]!;
        return sum / (acp * eigenvalues[k]! + s2);
      });
      return Float64Array.from({ length: n }, (_, j) => {
        let sum = 0;
        for (let k = 0; k < n; k++) sum += eigenvectors[j * n + k]! * coords[k]!;
        return Math.sqrt(s2) * sum;
      });
    };
    try {
      const conditioned = await run(condition);
      const unconditioned = await run(new Float32Array(EMBEDDING_VALUES));
      const [wantC, wantU] = [oracle(true), oracle(false)];
      let gap = 0;
      for (let j = 0; j < n; j++) {
        expect(Math.abs(conditioned[j]! - wantC[j]!)).toBeLessThan(1e-4);
        expect(Math.abs(unconditioned[j]! - wantU[j]!)).toBeLessThan(1e-4);
        gap = Math.max(gap, Math.abs(wantC[j]! - wantU[j]!));
      }
      expect(gap).toBeGreaterThan(1e-2);
    } finally {
      await unet.release();
    }
  });
});

describe("held-out reconstructions", () => {
  let scores: ConditionScores[];
  const of = (condition: Condition) => scores.find((s) => s.condition === condition)!;

  beforeAll(async () => {
    scores = await evaluateReconstructions({
      bundleDir: sim.bundleDir,
      trials,
      options: { samples: RUN.samples, decoder_steps: RUN.decoder_steps },
    });
    const gaps = (s: ConditionScores) =>
      METRICS.map((m) => {
        const { mean, se } = pairedGap(of("sim01"), s, m);
        return `${m} ${s[m].toFixed(4)} (sim01 − it ${mean.toFixed(4)} ± ${se.toFixed(4)})`;
      }).join(", ");
    console.log(scores.map((s) => `${s.condition}: ${gaps(s)}`).join("\n"));
  }, 900_000);

  it.each(Object.keys(MARGINS) as (keyof typeof MARGINS)[])(
    "beat the control %s on PixCorr, SSIM and two-way identification by the stated margins",
    (control) => {
      for (const [metric, margin] of Object.entries(MARGINS[control]) as [Metric, number][]) {
        expect(of("sim01")[metric], `${metric} over ${control}`).toBeGreaterThan(
          of(control)[metric] + margin,
        );
      }
    },
  );

  it("identify the seen image far above chance (0.5)", () => {
    expect(of("sim01").identification).toBeGreaterThan(0.9);
  });

  it("SSIM and PixCorr score an image against itself as 1 and the reconstruction below it", () => {
    const truth = trials[0]!.image;
    expect(ssim(truth, truth, IMAGE_SIZE)).toBeCloseTo(1, 10);
    expect(pixCorr(truth, truth)).toBeCloseTo(1, 10);
    expect(ssim(of("sim01").images[0]!, truth, IMAGE_SIZE)).toBeLessThan(0.99);
  });
});

it("the same seed gives the same PNG bytes through the bundle on disk", async () => {
  const bundle = await loadBundle(sim.bundleDir);
  const graphs = await openReconstructionGraphs(bundle, { providers: ["cpu"], intraOpThreads: 1 });
  const png = async (seed: number) => {
    const result = await reconstruct({
      graphs,
      settings: modelSettings(bundle.manifest),
      voxels: trials[1]!.voxels,
      options: { samples: 2, decoder_steps: 5, seed },
    });
    const chw = result.image!.data;
    const plane = IMAGE_SIZE * IMAGE_SIZE;
    const hwc = Buffer.alloc(3 * plane);
    for (let i = 0; i < plane; i++)
      for (let c = 0; c < 3; c++) hwc[i * 3 + c] = Math.round(chw[c * plane + i]! * 255);
    return sharp(hwc, { raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 3 } })
      .png()
      .toBuffer();
  };
  try {
    const [first, again, other] = [await png(5), await png(5), await png(6)];
    expect(first.equals(again)).toBe(true);
    expect(first.equals(other)).toBe(false);
  } finally {
    await releaseGraphs(graphs);
  }
}, 120_000);
