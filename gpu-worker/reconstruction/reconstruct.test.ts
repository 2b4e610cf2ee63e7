/**
 * The pipeline on a stand-in bundle whose seven graphs have the real signatures and closed-form insides
 * (test-graphs/stand-in-bundle.ts; point-mass worlds for prior and UNet, where DDPM and UniPC are exact).
 * An independent oracle replays MindEye1's recipe in float64 from the same noise stream; the pipeline must
 * match it, and each plausible wrong recipe must measurably miss.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../../core/contracts/errors.ts";
import {
  needsSharedFixtures,
  SHARED_FIXTURES,
  sharedFixturesMissing,
} from "../../test/helpers/shared-fixtures.ts";
import { loadBundle } from "../bundles/load-bundle.ts";
import { GaussianGenerator } from "../samplers/gaussian-generator.ts";
import {
  FULL_WIDTH,
  type StandInWeights,
  standInWeights,
  TINY,
  writeStandInBundle,
} from "../test-graphs/stand-in-bundle.ts";
import { type ModelSettings, modelSettings } from "./model-settings.ts";
import { type ReconstructionProgress, reconstruct } from "./reconstruct.ts";
import {
  openReconstructionGraphs,
  type ReconstructionGraphs,
  releaseGraphs,
} from "./reconstruction-graphs.ts";

// The oracle takes diffusers' own schedule points and float16 add_noise coefficients from the goldens.
const goldens = () => JSON.parse(readFileSync(join(SHARED_FIXTURES, "samplers", "goldens.json"), "utf8"));
const level = (t: number) => {
  const points = goldens().unipc.schedule.points;
  const i = points.t.indexOf(t);
  return { a: points.alpha_t[i] as number, s: points.sigma_t[i] as number };
};
const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];
// Observed: 6e-8 for the right recipe; the nearest wrong one (the 2x − 1 init) misses by 2.9e-4.
const IMAGE_ABS = 1e-6;

interface Recipe {
  swapHalves?: boolean;
  initTwoXMinusOne?: boolean;
  posteriorPerCandidate?: boolean;
  skipFinalPriorDraw?: boolean;
  noClsNormalization?: boolean;
}

/** MindEye1's recipe in float64 for the stand-in bundle, σ = 0 in both worlds, 20 steps at 0.85. */
function oracle(
  w: StandInWeights,
  voxels: Float32Array,
  n: number,
  seed: number,
  guidance: number,
  recipe: Recipe = {},
) {
  const { tokens, dim, latentSize: h } = w.sizes;
  const flat = tokens * dim;
  const H = 8 * h;
  const times = (weights: Float32Array, cols: number) =>
    Array.from({ length: cols }, (_, c) => voxels.reduce((sum, v, r) => sum + v * weights[r * cols + c]!, 0));
  const generator = new GaussianGenerator(seed);
  for (let i = 0; i < (recipe.skipFinalPriorDraw ? 100 : 101); i++)
    generator.fill(new Float32Array(n * flat));

  const backbone = times(w.backbone, flat).map((v) => v / Math.sqrt(768));
  const cls = Math.hypot(...backbone.slice(0, dim)) + 1e-6;
  const embedding = recipe.noClsNormalization ? backbone : backbone.map((v) => v / cls);
  const meanEmbedding = embedding.reduce((a, b) => a + b, 0) / flat;
  const muU = w.muUnconditional;
  const muC = muU + meanEmbedding;
  const muW = recipe.swapHalves ? muC + guidance * (muU - muC) : muU + guidance * (muC - muU);

  const decode = (latent: number[]) => {
    const image = new Array<number>(3 * H * H);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < H; x++) {
          let v = w.decoderBias[c]!;
          for (let k = 0; k < 4; k++) v += w.decoder[c * 4 + k]! * latent[(k * h + (y >> 3)) * h + (x >> 3)]!;
          image[(c * H + y) * H + x] = v / 2 + 0.5;
        }
    return image;
  };
  const pool = (image: number[]) => {
    const out = new Array<number>(3 * h * h).fill(0);
    image.forEach((v, i) => {
      const c = Math.floor(i / (H * H));
      const y = Math.floor((i % (H * H)) / H);
      const x = i % H;
      out[(c * h + (y >> 3)) * h + (x >> 3)]! += v / 64;
    });
    return out;
  };
  const conv = (pooled: number[], weights: Float32Array, bias: Float32Array) =>
    Array.from({ length: 4 * h * h }, (_, i) => {
      const k = Math.floor(i / (h * h));
      return (
        bias[k]! +
        [0, 1, 2].reduce((sum, c) => sum + weights[k * 3 + c]! * pooled[c * h * h + (i % (h * h))]!, 0)
      );
    });

  const blurry = decode(times(w.lowlevel, 4 * h * h).map((v) => v / 0.18215));
  const init = recipe.initTwoXMinusOne
    ? blurry.map((v) => 2 * v - 1)
    : blurry.map((v, i) => (v - CLIP_MEAN[Math.floor(i / (H * H))]!) / CLIP_STD[Math.floor(i / (H * H))]!);
  const pooled = pool(init);
  const mean = conv(pooled, w.encoderMean, w.encoderMeanBias);
  const logvar = conv(pooled, w.encoderLogvar, w.encoderLogvarBias).map((v) =>
    Math.min(Math.max(v, -30), 20),
  );
  const latentSize = 4 * h * h;
  const posterior = (draw: Float32Array) =>
    mean.map((m, i) => (m + Math.exp(logvar[i]! / 2) * draw[i]!) * 0.18215);
  const shared = recipe.posteriorPerCandidate
    ? null
    : posterior(generator.fill(new Float32Array(latentSize)));
  const perCandidate = recipe.posteriorPerCandidate
    ? Array.from({ length: n }, () => posterior(generator.fill(new Float32Array(latentSize))))
    : null;
  const noise = generator.fill(new Float32Array(n * latentSize));
  const [start, end] = [level(849), level(0)];
  const F16 = goldens().unipc.add_noise_t849_coefficients.float16;
  const images: number[][] = [];
  const embeds: number[][] = [];
  for (let s = 0; s < n; s++) {
    const z = shared ?? perCandidate![s]!;
    const latent = z.map((v, i) => {
      const x849 = F16.sqrt_alpha_prod * v + F16.sqrt_one_minus_alpha_prod * noise[s * latentSize + i]!;
      return end.a * muW + (end.s / start.s) * (x849 - start.a * muW);
    });
    const image = decode(latent.map((v) => v / 0.18215)).map((v) => Math.min(Math.max(v, 0), 1));
    images.push(image);
    const features = pool(image);
    embeds.push(
      Array.from({ length: flat }, (_, i) => {
        const d = i % dim;
        return w.clipTokenBias[i]! + features.reduce((sum, f, p) => sum + f * w.clip[p * dim + d]!, 0);
      }),
    );
  }
  const reference = times(w.retrieval, flat);
  const norm = (v: number[]) => Math.hypot(...v);
  const similarities = embeds.map(
    (e) => e.reduce((sum, v, i) => sum + v * reference[i]!, 0) / (norm(e) * norm(reference)),
  );
  const best = similarities.indexOf(Math.max(...similarities));
  return { images, similarities, best, meanEmbedding };
}

let dir: string;
let weights: StandInWeights;
let graphs: ReconstructionGraphs;
let settings: ModelSettings;
const voxels = new GaussianGenerator(99).fill(new Float32Array(TINY.voxels));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reconstruct-"));
  weights = standInWeights(TINY, 3);
  const bundle = await loadBundle(await writeStandInBundle(join(dir, "tiny"), weights));
  graphs = await openReconstructionGraphs(bundle, { providers: ["cpu"], intraOpThreads: 1 });
  settings = modelSettings(bundle.manifest);
});
afterAll(async () => {
  await releaseGraphs(graphs);
  await rm(dir, { recursive: true, force: true });
});

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

describe("reconstruct", () => {
  it.skipIf(sharedFixturesMissing)(
    needsSharedFixtures("follows MindEye1's recipe, and every plausible wrong recipe measurably misses"),
    async () => {
      const n = 16;
      const result = await reconstruct({
        graphs,
        settings,
        voxels,
        options: { outputs: ["best", "candidates"] },
      });
      const expected = oracle(weights, voxels, n, 42, 3.5);
      const candidates = result.candidates!;
      expect(candidates.dims).toEqual([n, 3, 8 * TINY.latentSize, 8 * TINY.latentSize]);
      const size = candidates.data.length / n;
      const got = Array.from({ length: n }, (_, s) => candidates.data.subarray(s * size, (s + 1) * size));
      got.forEach((image, s) => {
        expect(maxDiff(image, expected.images[s]!), `candidate ${s}`).toBeLessThan(IMAGE_ABS);
      });
      expect(maxDiff(result.similarities, expected.similarities)).toBeLessThan(1e-5);
      expect(result.best).toBe(expected.best);
      expect(new Set(got.map((image) => image.join())).size, "candidates differ").toBe(n);
      expect(result.image!.dims).toEqual([3, 8 * TINY.latentSize, 8 * TINY.latentSize]);
      expect(maxDiff(result.image!.data, got[result.best]!)).toBe(0);

      const wrongRecipes: Recipe[] = [
        { swapHalves: true },
        { initTwoXMinusOne: true },
        { posteriorPerCandidate: true },
        { skipFinalPriorDraw: true },
        { noClsNormalization: true },
      ];
      for (const recipe of wrongRecipes) {
        const wrong = oracle(weights, voxels, n, 42, 3.5, recipe);
        const miss = Math.max(...wrong.images.map((image, s) => maxDiff(image, got[s]!)));
        expect(miss, JSON.stringify(recipe)).toBeGreaterThan(100 * IMAGE_ABS);
      }
    },
  );

  it("gives the same images bit for bit for the same seed, and others for another seed", async () => {
    const run = (seed: number) =>
      reconstruct({ graphs, settings, voxels, options: { seed, samples: 4, outputs: ["candidates"] } });
    const [a, b, c] = [await run(7), await run(7), await run(8)];
    const bytes = (r: typeof a) =>
      Buffer.from(r.candidates!.data.buffer, r.candidates!.data.byteOffset, r.candidates!.data.byteLength);
    expect(bytes(a).equals(bytes(b))).toBe(true);
    expect(maxDiff(a.candidates!.data, c.candidates!.data)).toBeGreaterThan(1e-3);
  });

  it("reports progress per stage and step, and stops between steps when cancelled", async () => {
    const events: ReconstructionProgress[] = [];
    await reconstruct({
      graphs,
      settings,
      voxels,
      options: { samples: 2 },
      onProgress: (p) => events.push(p),
    });
    const stages = events.map((e) => e.stage).filter((s, i, all) => s !== all[i - 1]);
    expect(stages).toEqual(["embed", "prior", "lowlevel", "vae_encode", "decoder", "vae_decode", "select"]);
    const steps = (stage: string) =>
      events.filter((e) => e.stage === stage).map((e) => `${e.step}/${e.steps}`);
    expect(steps("prior")).toEqual(Array.from({ length: 100 }, (_, i) => `${i + 1}/100`));
    expect(steps("decoder")).toEqual(Array.from({ length: 17 }, (_, i) => `${i + 1}/17`));

    const controller = new AbortController();
    const seen: ReconstructionProgress[] = [];
    const cancelled = reconstruct({
      graphs,
      settings,
      voxels,
      options: { samples: 2 },
      signal: controller.signal,
      onProgress: (p) => {
        seen.push(p);
        if (p.stage === "decoder" && p.step === 5) controller.abort(new Error("cancelled by the lab"));
      },
    });
    await expect(cancelled).rejects.toThrow("cancelled by the lab");
    expect(seen.at(-1)).toEqual({ stage: "decoder", step: 5, steps: 17 });
  });

  it("previews candidate 0's x̂₀ every 5 decoder steps when asked, without changing the result", async () => {
    const previews: { step: number; steps: number; image: Float32Array; dims: readonly number[] }[] = [];
    const options = { samples: 2, outputs: ["candidates"] };
    const withPreviews = await reconstruct({
      graphs,
      settings,
      voxels,
      options: { ...options, previews: true },
      onPreview: async (p) => {
        previews.push({
          step: p.step,
          steps: p.steps,
          image: Float32Array.from(p.image.data),
          dims: p.image.dims,
        });
      },
    });
    expect(previews.map((p) => `${p.step}/${p.steps}`)).toEqual(["5/17", "10/17", "15/17"]);
    const side = 8 * TINY.latentSize;
    for (const p of previews) expect(p.dims).toEqual([1, 3, side, side]);
    // The UNet's world is a point mass: the exact x̂₀ is the same at every step, while x_t (what a preview
    // of the noisy latents would show) changes with each one. Candidate 0 ends near it.
    expect(maxDiff(previews[0]!.image, previews[2]!.image)).toBeLessThan(1e-5);
    const candidate0 = withPreviews.candidates!.data.subarray(0, previews[0]!.image.length);
    expect(maxDiff(previews[2]!.image, candidate0)).toBeLessThan(0.05);
    // Previews draw no noise: the same images bit for bit as without them.
    const without = await reconstruct({ graphs, settings, voxels, options });
    expect(maxDiff(without.candidates!.data, withPreviews.candidates!.data)).toBe(0);
    // Not asked for: none.
    const unasked: number[] = [];
    await reconstruct({
      graphs,
      settings,
      voxels,
      options,
      onPreview: async (p) => {
        unasked.push(p.step);
      },
    });
    expect(unasked).toEqual([]);
  });

  it("takes its options: steps, guidance, img2img off, samples, outputs", async () => {
    const events: ReconstructionProgress[] = [];
    const result = await reconstruct({
      graphs,
      settings,
      voxels,
      options: {
        samples: 3,
        decoder_steps: 10,
        img2img_strength: 1,
        outputs: ["blurry", "prior_embeddings"],
      },
      onProgress: (p) => events.push(p),
    });
    expect(events.filter((e) => e.stage === "decoder")).toHaveLength(10);
    expect(events.some((e) => e.stage === "vae_encode")).toBe(false);
    expect(result.similarities).toHaveLength(3);
    expect(result.image).toBeUndefined();
    expect(result.blurry!.dims).toEqual([1, 3, 16, 16]);
    expect(result.priorEmbeddings!.dims).toEqual([3, TINY.tokens, TINY.dim]);

    const unguided = await reconstruct({
      graphs,
      settings,
      voxels,
      options: { samples: 2, guidance_scale: 1, outputs: ["candidates"] },
    });
    const guided = await reconstruct({
      graphs,
      settings,
      voxels,
      options: { samples: 2, outputs: ["candidates"] },
    });
    expect(maxDiff(unguided.candidates!.data, guided.candidates!.data)).toBeGreaterThan(1e-3);
  });

  it("refuses voxels of the wrong count or with NaN with the error that says so", async () => {
    const wrong = await reconstruct({ graphs, settings, voxels: new Float32Array(TINY.voxels + 1) }).catch(
      (e) => e,
    );
    expect((wrong as ApiError).code).toBe("voxel_count_mismatch");
    expect((wrong as ApiError).message).toContain(`${TINY.voxels} voxels`);
    const nan = Float32Array.from(voxels);
    nan[3] = Number.NaN;
    const error = await reconstruct({ graphs, settings, voxels: nan }).catch((e) => e);
    expect((error as ApiError).code).toBe("non_finite_values");
    expect((error as ApiError).message).toContain("Voxel 3");
  });

  it("refuses bad options with an invalid_request that names the field", async () => {
    const attempt = (options: unknown) => reconstruct({ graphs, settings, voxels, options });
    for (const [options, field] of [
      [{ samples: 17 }, "samples"],
      [{ samples: 0 }, "samples"],
      [{ img2img_strength: 0 }, "img2img_strength"],
      [{ decoder_steps: 2.5 }, "decoder_steps"],
      [{ prior_steps: 50 }, "prior_steps"],
      [{ colour: "blue" }, "colour"],
    ] as const) {
      const error = await attempt(options).catch((e: unknown) => e);
      expect(error, JSON.stringify(options)).toBeInstanceOf(ApiError);
      expect((error as ApiError).code).toBe("invalid_request");
      expect((error as ApiError).message).toContain(field);
    }
  });
});

describe("reconstruct with the exporter's real-topology graphs", () => {
  it("runs the tiny test bundle's voxel2clip, lowlevel and prior (random weights) with stand-ins for the rest", async () => {
    const real = await loadBundle(join("test", "fixtures", "bundles", "mindeye1-subj01-tiny"));
    const replace = Object.fromEntries(
      (["voxel2clip", "lowlevel", "prior"] as const).map((name) => [
        name,
        readFileSync(real.graphs[name]!.path),
      ]),
    );
    const sizes = { voxels: real.manifest.input.voxels, tokens: 5, dim: 16, latentSize: 16 };
    const bundle = await loadBundle(
      await writeStandInBundle(join(dir, "mixed"), standInWeights(sizes, 8), { id: "mixed", replace }),
    );
    const mixed = await openReconstructionGraphs(bundle, { providers: ["cpu"], intraOpThreads: 1 });
    try {
      const run = () =>
        reconstruct({
          graphs: mixed,
          settings: modelSettings(bundle.manifest),
          voxels: new GaussianGenerator(2).fill(new Float32Array(sizes.voxels)),
          options: { samples: 4, outputs: ["best", "prior_embeddings"] },
        });
      const [a, b] = [await run(), await run()];
      expect(a.image!.dims).toEqual([3, 128, 128]);
      const embeddings = a.priorEmbeddings!;
      for (let s = 0; s < 4; s++) {
        const cls = embeddings.data.subarray(s * 5 * 16, s * 5 * 16 + 16);
        expect(Math.hypot(...cls), `sample ${s}: CLS token rescaled to norm 1 (+1e-6)`).toBeCloseTo(1, 3);
      }
      expect(maxDiff(embeddings.data.subarray(0, 80), embeddings.data.subarray(80, 160))).toBeGreaterThan(
        1e-3,
      );
      expect(Buffer.from(a.image!.data.buffer).equals(Buffer.from(b.image!.data.buffer))).toBe(true);
    } finally {
      await releaseGraphs(mixed);
    }
  });
});

describe("reconstruct at full width (257x768 tokens, 4x64x64 latents, 512x512 images)", () => {
  it("completes with every graph of a full-width stand-in bundle", async () => {
    const bundle = await loadBundle(
      await writeStandInBundle(join(dir, "full"), standInWeights(FULL_WIDTH, 5), { id: "standin-full" }),
    );
    const full = await openReconstructionGraphs(bundle, { providers: ["cpu"] });
    try {
      const result = await reconstruct({
        graphs: full,
        settings: modelSettings(bundle.manifest),
        voxels: new GaussianGenerator(1).fill(new Float32Array(FULL_WIDTH.voxels)),
        options: { samples: 2 },
      });
      expect(result.image!.dims).toEqual([3, 512, 512]);
      expect(result.similarities.every(Number.isFinite)).toBe(true);
      expect(result.image!.data.every((v) => v >= 0 && v <= 1)).toBe(true);
    } finally {
      await releaseGraphs(full);
    }
  }, 120_000);
});
