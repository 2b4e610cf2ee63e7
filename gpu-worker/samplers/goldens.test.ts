/**
 * The samplers against what diffusers 0.13.0 and DALLE2-pytorch 1.14.2 themselves produce
 * (../shared/fixtures/samplers/goldens.json; tolerances from its README), with the exact Gaussian
 * denoisers run as ONNX graphs through the same ORT sessions the pipeline uses.
 */

import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  needsSharedFixtures,
  SHARED_FIXTURES,
  sharedFixturesMissing,
} from "../../test/helpers/shared-fixtures.ts";
import { guidedUnetDenoiser, priorDenoiser } from "../reconstruction/denoisers.ts";
import type { GraphSession } from "../reconstruction/graph-session.ts";
import { gaussianPriorGraph, gaussianUnetGraph } from "../test-graphs/gaussian-world-graphs.ts";
import { openGraph } from "../test-graphs/open-graph.ts";
import { addNoise } from "./add-noise.ts";
import { cosineSchedule } from "./cosine-schedule.ts";
import { sampleDdpm } from "./ddpm-prior.ts";
import type { NoiseSource } from "./gaussian-generator.ts";
import { scaledLinearSchedule } from "./scaled-linear-schedule.ts";
import { img2imgStart, unipcTimesteps } from "./timesteps.ts";
import { diffusersGrid, UniPCMultistep, type UniPCStepInfo } from "./unipc.ts";

const describeShared = describe.skipIf(sharedFixturesMissing);
const goldens = sharedFixturesMissing
  ? { inputs: { x_start: [] } }
  : JSON.parse(readFileSync(join(SHARED_FIXTURES, "samplers", "goldens.json"), "utf8"));
const OUTPUT_ABS = 2e-6;
const SCHEDULE_REL = 3e-5;
// ρ_c solves a system built from differences of λ, which amplify the ~1e-6 relative schedule offset.
const RHO_REL = 1e-4;
const xStart: number[] = goldens.inputs.x_start;
const WIDTH = xStart.length;
const LATENT_DIMS = [1, 1, 1, WIDTH];

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, abs: number, what: string) {
  expect(actual.length, what).toBe(expected.length);
  const worst = Math.max(...Array.from(expected, (e, i) => Math.abs(actual[i]! - e)));
  expect(worst, `${what}: max |diff| ${worst}`).toBeLessThanOrEqual(abs);
}

function expectRelClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, what: string) {
  expect(actual.length, what).toBe(expected.length);
  const worst = Math.max(...Array.from(expected, (e, i) => Math.abs(actual[i]! - e) / Math.abs(e)));
  expect(worst, `${what}: max relative diff ${worst}`).toBeLessThanOrEqual(rel);
}

const vp = scaledLinearSchedule();
let dir: string;
const sessions: GraphSession[] = [];

async function unetWorld(mu: number, sigma: number) {
  const session = await openGraph(
    dir,
    `unet_${mu}_${sigma}`,
    gaussianUnetGraph({
      alphasCumprod: vp.alphasCumprod,
      sigma,
      muUnconditional: mu,
      channels: 1,
      height: 1,
      width: WIDTH,
      tokens: 1,
      dim: 1,
    }),
  );
  sessions.push(session);
  return session;
}

/** UniPC over diffusers' grid from step `start`, ε from `unet` with context offset `c` and scale `w`. */
async function runUniPC(
  unet: GraphSession,
  options: { steps: number; start: number; x: Float32Array; offset?: number; guidance?: number },
) {
  const timesteps = unipcTimesteps(options.steps);
  const solver = new UniPCMultistep(diffusersGrid(vp, timesteps), WIDTH, {
    solverOrder: 2,
    lowerOrderFinal: true,
  });
  const eps = guidedUnetDenoiser(
    unet,
    Float32Array.of(options.offset ?? 0),
    [1, 1, 1],
    LATENT_DIMS,
    options.guidance ?? 1,
  );
  const sample = Float32Array.from(options.x);
  const trace: (UniPCStepInfo & { k: number; x: number[] })[] = [];
  for (let k = options.start; k < timesteps.length; k++) {
    const info = solver.step(k, await eps(sample, timesteps[k]!), sample);
    trace.push({ ...info, k, x: [...sample] });
  }
  return { sample, trace };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sampler-goldens-"));
});
afterAll(async () => {
  for (const s of sessions) await s.release();
  await rm(dir, { recursive: true, force: true });
});

describeShared(
  needsSharedFixtures("diffusers 0.13.0 UniPC with Versatile Diffusion's scheduler config"),
  () => {
    it("builds the scaled-linear schedule torch builds", () => {
      const s = goldens.unipc.schedule;
      expectRelClose(vp.betas, s.betas_float32, SCHEDULE_REL, "betas");
      expectRelClose(vp.alphasCumprod, s.alphas_cumprod_float32, SCHEDULE_REL, "alphas_cumprod");
      const at = (table: Float32Array) => s.points.t.map((t: number) => table[t]!);
      expectRelClose(at(vp.alpha), s.points.alpha_t, SCHEDULE_REL, "alpha_t");
      expectRelClose(at(vp.sigma), s.points.sigma_t, SCHEDULE_REL, "sigma_t");
      expectRelClose(at(vp.lambda), s.points.lambda_t, SCHEDULE_REL, "lambda_t");
    });

    it("sets timesteps with numpy's half-to-even rounding, which JS Math.round would get wrong", () => {
      for (const [n, expected] of Object.entries(goldens.unipc.timesteps)) {
        expect(unipcTimesteps(Number(n)), `n = ${n}`).toEqual(expected);
      }
      const halfUp = goldens.unipc.timesteps_rounding["6"].half_up_would_give;
      expect(unipcTimesteps(6)).not.toEqual(halfUp);
    });

    it("starts img2img at strength 0.85 with 17 steps from t = 849", () => {
      const start = img2imgStart(20, 0.85);
      expect(start).toBe(3);
      expect(unipcTimesteps(20).slice(start)).toEqual([
        849, 799, 749, 699, 649, 599, 549, 500, 450, 400, 350, 300, 250, 200, 150, 100, 50,
      ]);
      expect(img2imgStart(20, 1)).toBe(0);
    });

    it("adds noise with float16 coefficients as MindEye1 did, and float32 ones as diffusers does for float32", () => {
      const coefficients = goldens.unipc.add_noise_t849_coefficients;
      for (const precision of ["float16", "float32"] as const) {
        const out = addNoise(
          Float32Array.of(1, 0),
          Float32Array.of(0, 1),
          vp.alphasCumprod[849]!,
          new Float32Array(2),
          precision,
        );
        const expected = [
          coefficients[precision].sqrt_alpha_prod,
          coefficients[precision].sqrt_one_minus_alpha_prod,
        ];
        expectRelClose(out, expected, precision === "float16" ? 0 : SCHEDULE_REL, precision);
      }
    });

    it("reproduces every txt2img step: orders, corrector ρ, h and x", async () => {
      const unet = await unetWorld(goldens.inputs.gaussian_world.mu, goldens.inputs.gaussian_world.sigma);
      const { sample, trace } = await runUniPC(unet, { steps: 20, start: 0, x: Float32Array.from(xStart) });
      const perStep = goldens.unipc.float32.txt2img_20_per_step;
      expect(trace.map((s) => s.predictorOrder)).toEqual(
        perStep.map((s: { predictor_order: number }) => s.predictor_order),
      );
      expect(trace.map((s) => s.correctorOrder)).toEqual(
        perStep.map((s: { corrector_order: number }) => s.corrector_order),
      );
      perStep.forEach(
        (golden: { k: number; rho_c: number[] | null; h: number; x_out: number[] }, i: number) => {
          const step = trace[i]!;
          if (golden.rho_c)
            expectRelClose(step.rhoCorrector!, golden.rho_c, RHO_REL, `rho_c at k=${golden.k}`);
          expectRelClose([step.h], [golden.h], SCHEDULE_REL, `h at k=${golden.k}`);
          expectClose(step.x, golden.x_out, OUTPUT_ABS, `x after k=${golden.k}`);
        },
      );
      expectClose(sample, goldens.unipc.float32.txt2img_20, OUTPUT_ABS, "txt2img output");
      expectClose(sample, goldens.unipc.float64.txt2img_20, OUTPUT_ABS, "txt2img output vs float64 samples");
    });

    it("runs img2img from the noised init: 17 steps indexing the full 20-step array", async () => {
      const unet = await unetWorld(goldens.inputs.gaussian_world.mu, goldens.inputs.gaussian_world.sigma);
      const init = new Float32Array(WIDTH).fill(goldens.inputs.img2img.init_value);
      const x849 = addNoise(
        init,
        Float32Array.from(xStart),
        vp.alphasCumprod[849]!,
        new Float32Array(WIDTH),
        "float32",
      );
      const golden = goldens.unipc.float32["img2img_strength0.85"];
      expectClose(x849, golden.x_start_849, OUTPUT_ABS, "x at t=849");
      const { sample, trace } = await runUniPC(unet, { steps: 20, start: img2imgStart(20, 0.85), x: x849 });
      const perStep = goldens.unipc.float32.img2img_per_step;
      expect(trace.map((s) => [s.k, s.predictorOrder, s.correctorOrder])).toEqual(
        perStep.map((s: { k: number; predictor_order: number; corrector_order: number }) => [
          s.k,
          s.predictor_order,
          s.corrector_order,
        ]),
      );
      expectClose(sample, golden.output, OUTPUT_ABS, "img2img output");
    });

    it("lands a point mass on its exact value", async () => {
      const unet = await unetWorld(goldens.inputs.point_mass.mu, 0);
      const { sample } = await runUniPC(unet, { steps: 20, start: 0, x: Float32Array.from(xStart) });
      expectClose(sample, goldens.unipc.float32["point_mass_mu0.7_sigma0_20"], OUTPUT_ABS, "point mass");
      expectClose(
        sample,
        goldens.unipc.exact_ode_oracle_f64_on_torch_f32_schedule["point_mass_mu0.7_from_999"],
        OUTPUT_ABS,
        "point mass vs exact ODE",
      );
    });

    it("guides with [unconditional; conditional] and an all-zero unconditional context", async () => {
      const { mu_u: muU, mu_c: muC, sigma, guidance_scale: w } = goldens.inputs.cfg;
      const unet = await unetWorld(muU, sigma);
      const { sample } = await runUniPC(unet, {
        steps: 20,
        start: 0,
        x: Float32Array.from(xStart),
        offset: muC - muU,
        guidance: w,
      });
      expectClose(sample, goldens.unipc.float32["cfg_mu_u0.2_mu_c0.5_w3.5_20"], OUTPUT_ABS, "guided output");
      expectClose(
        sample,
        goldens.unipc.float64.cfg_equivalent_single_world_mu1_25_20 ??
          goldens.unipc.float64["cfg_equivalent_single_world_mu1.25_20"],
        OUTPUT_ABS,
        "guided = N(mu_w)",
      );
    });
  },
);

describeShared(
  needsSharedFixtures("DALLE2-pytorch 1.14.2 prior, T = 100 cosine, as MindEye1 samples it"),
  () => {
    const schedule = cosineSchedule(100);

    it("builds D2P's float32 buffers", () => {
      const b = goldens.dalle2_prior.schedule_float32_buffers;
      expectRelClose(schedule.betas, b.betas_all, SCHEDULE_REL, "betas");
      expectRelClose(schedule.alphasCumprod, b.alphas_cumprod_all, SCHEDULE_REL, "alphas_cumprod");
      expectRelClose(schedule.posteriorMeanCoef1, b.posterior_mean_coef1_all, SCHEDULE_REL, "coef1");
      expectRelClose(
        schedule.posteriorMeanCoef2.slice(1),
        b.posterior_mean_coef2_all.slice(1),
        SCHEDULE_REL,
        "coef2",
      );
      expect(schedule.posteriorMeanCoef2[0]).toBe(0);
      expectRelClose(
        schedule.posteriorLogVarianceClipped,
        b.posterior_log_variance_clipped_all,
        SCHEDULE_REL,
        "log variance",
      );
      expect(schedule.betas[99]).toBe(Math.fround(0.999));
    });

    /** x_T from the fixture, then every per-step draw zero, as the goldens replaced torch.randn(_like). */
    function zeroNoiseAfter(first: number[]): NoiseSource {
      let drawn = 0;
      return {
        fill(out) {
          if (drawn++ === 0) out.set(first);
          else out.fill(0);
          return out;
        },
      };
    }

    async function chain(mu: number, sigma: number) {
      const prior = await openGraph(
        dir,
        `prior_${mu}_${sigma}`,
        gaussianPriorGraph({ alphasCumprod: schedule.alphasCumprod, sigma, tokens: 1, dim: WIDTH }),
      );
      sessions.push(prior);
      const predict = priorDenoiser(prior, new Float32Array(WIDTH).fill(mu), [1, 1, WIDTH]);
      const steps: number[][] = [];
      const result = await sampleDdpm({
        schedule,
        size: WIDTH,
        predictX0: async (x, t) => {
          steps.push([...x]);
          return predict(x, t);
        },
        generator: zeroNoiseAfter(goldens.inputs.dalle2.x_T),
        imageEmbedScale: Math.sqrt(768),
      });
      return { result, steps };
    }

    it("runs the deterministic chain step for step, and divides by sqrt(768)", async () => {
      const golden = goldens.dalle2_prior.deterministic_chain.float32;
      const { result, steps } = await chain(
        goldens.inputs.gaussian_world.mu,
        goldens.inputs.gaussian_world.sigma,
      );
      expect(steps).toHaveLength(100);
      golden.trajectory_t99_to_t0.forEach((entry: { t: number; x_t: number[] }, i: number) => {
        expectClose(steps[i]!, entry.x_t, OUTPUT_ABS, `x fed at t=${entry.t}`);
      });
      expectClose(
        result,
        golden.p_sample_loop_output_div_sqrt768,
        OUTPUT_ABS / Math.sqrt(768),
        "chain output",
      );
    });

    it("returns a point mass exactly", async () => {
      const { result } = await chain(goldens.inputs.point_mass.mu, 0);
      const expected = goldens.dalle2_prior["point_mass_mu0.7_sigma0_chain"].float32.map(
        (v: number) => v / Math.sqrt(768),
      );
      expectClose(result, expected, OUTPUT_ABS / Math.sqrt(768), "point-mass chain");
    });
  },
);
