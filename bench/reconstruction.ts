/**
 * Reconstruction cost on CPU (issue 14): the host side of the pipeline at MindEye1's full sizes and N = 16
 * (samplers, noise, guidance, memory) on a stand-in bundle whose graphs are nearly free, and the real
 * prior's step (exported at full width, random weights) against the FLOP floor of this machine, measured
 * in the same run by an ORT MatMul. Stages whose graphs are not exported here are extrapolated from
 * reference §8.2's MAC counts at that floor and marked so.
 *
 *   node --expose-gc --import tsx bench/reconstruction.ts
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { loadBundle } from "../gpu-worker/bundles/load-bundle.ts";
import { GraphSession } from "../gpu-worker/reconstruction/graph-session.ts";
import { modelSettings } from "../gpu-worker/reconstruction/model-settings.ts";
import {
  openReconstructionGraphs,
  releaseGraphs,
} from "../gpu-worker/reconstruction/reconstruction-graphs.ts";
import { cosineSchedule } from "../gpu-worker/samplers/cosine-schedule.ts";
import { sampleDdpm } from "../gpu-worker/samplers/ddpm-prior.ts";
import { GaussianGenerator } from "../gpu-worker/samplers/gaussian-generator.ts";
import { scaledLinearSchedule } from "../gpu-worker/samplers/scaled-linear-schedule.ts";
import { unipcTimesteps } from "../gpu-worker/samplers/timesteps.ts";
import { diffusersGrid, UniPCMultistep } from "../gpu-worker/samplers/unipc.ts";
import { floatInput, floatTensor, model, node } from "../gpu-worker/test-graphs/onnx-builder.ts";
import {
  FULL_WIDTH,
  standInWeights,
  TINY,
  writeStandInBundle,
} from "../gpu-worker/test-graphs/stand-in-bundle.ts";
import { ensureFullWidthBundle } from "./full-width-bundle.ts";
import { fmt, machineLine } from "./harness.ts";
import { timePipeline } from "./pipeline-timing.ts";

const N = 16;
const EMBED = 257 * 768;
const LATENT = 4 * 64 * 64;
const THREADS = 2;

const seconds = async (fn: () => Promise<unknown> | unknown) => {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
};

/**
 * This machine's float32 MatMul rate in ORT at the prior's own feed-forward shape (16 samples x 515
 * tokens, 768 -> 3072), best of 10: the floor each graph's step is compared against.
 */
async function matmulFlops(): Promise<number> {
  const [m, k, n] = [16 * 515, 768, 3072];
  const weights = new GaussianGenerator(1).fill(new Float32Array(k * n));
  const bytes = model("matmul", {
    initializer: [floatTensor("w", [k, n], weights)],
    node: [node("MatMul", ["x", "w"], ["y"])],
    input: [floatInput("x", [m, k])],
    output: [floatInput("y", [m, n])],
  });
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: THREADS });
  const x = new ort.Tensor("float32", new GaussianGenerator(2).fill(new Float32Array(m * k)), [m, k]);
  await session.run({ x });
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 10; i++) best = Math.min(best, await seconds(() => session.run({ x })));
  await session.release();
  return (2 * m * k * n) / best;
}

/** Seconds to copy `floats` float32 values, the memory floor of a host loop over them. */
function copySeconds(floats: number): number {
  const a = new Float32Array(floats).fill(1);
  const b = new Float32Array(floats);
  b.set(a);
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    b.set(a);
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  return best;
}

async function hostSide() {
  const generator = new GaussianGenerator(42);
  const noise = new Float32Array(N * EMBED);
  generator.fill(noise);
  const noiseS = await seconds(() => generator.fill(noise));

  const x0 = new Float32Array(N * EMBED).fill(0.5);
  const priorS = await seconds(() =>
    sampleDdpm({
      schedule: cosineSchedule(100),
      size: N * EMBED,
      predictX0: async () => x0,
      generator: new GaussianGenerator(42),
      imageEmbedScale: Math.sqrt(768),
    }),
  );

  const vp = scaledLinearSchedule();
  const timesteps = unipcTimesteps(20);
  const solver = new UniPCMultistep(diffusersGrid(vp, timesteps), N * LATENT, {
    solverOrder: 2,
    lowerOrderFinal: true,
  });
  const latents = new GaussianGenerator(3).fill(new Float32Array(N * LATENT));
  const eps = new GaussianGenerator(4).fill(new Float32Array(N * LATENT));
  const unipcS = await seconds(() => {
    for (let k = 0; k < 20; k++) solver.step(k, eps, latents);
  });
  return {
    noise: { s: noiseS, floor: copySeconds(N * EMBED) },
    priorStep: { s: priorS / 100, floor: 4 * copySeconds(N * EMBED) },
    unipcStep: { s: unipcS / 20, floor: 6 * copySeconds(N * LATENT) },
  };
}

/** The whole pipeline at full sizes, N = 16, on stand-in graphs: per-stage wall time and peak memory. */
async function standInPipeline(sizes: typeof FULL_WIDTH, dir: string) {
  const bundle = await loadBundle(await writeStandInBundle(dir, standInWeights(sizes, 5), { id: "bench" }));
  const graphs = await openReconstructionGraphs(bundle, { providers: ["cpu"], intraOpThreads: THREADS });
  const voxels = new GaussianGenerator(1).fill(new Float32Array(sizes.voxels));
  const timing = await timePipeline(graphs, modelSettings(bundle.manifest), voxels, N);
  await releaseGraphs(graphs);
  return timing;
}

async function realPriorStep(batch: number): Promise<number> {
  const bundle = await loadBundle(await ensureFullWidthBundle(["prior"], "float32"));
  const prior = await GraphSession.open("prior", bundle.graphs.prior!.path, {
    providers: ["cpu"],
    intraOpThreads: THREADS,
  });
  const x = new GaussianGenerator(1).fill(new Float32Array(batch * EMBED));
  const dims = [batch, 257, 768];
  const inputs = {
    noisy_image_embed: { data: x, dims },
    timestep: { data: new Float32Array(batch).fill(50), dims: [batch] },
    brain_embed: { data: x, dims },
  };
  const out = { pred_image_embed: { data: new Float32Array(batch * EMBED), dims } };
  await prior.run(inputs, out);
  const runs = batch === 1 ? 3 : 1;
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) best = Math.min(best, await seconds(() => prior.run(inputs, out)));
  await prior.release();
  return best;
}

const dir = await mkdtemp(join(tmpdir(), "bench-reconstruction-"));
console.log(`Machine: ${machineLine()}; ORT CPU, ${THREADS} intra-op threads`);
const flops = await matmulFlops();
console.log(`\nFloor: ORT float32 MatMul 8240x768x3072 at ${fmt(flops / 1e9, 1)} GFLOP/s (best of 10).\n`);

const host = await hostSide();
console.log("| host work at N = 16, full width | time | memory floor (copy) | ratio |");
console.log("|---|---|---|---|");
const row = (name: string, r: { s: number; floor: number }) =>
  console.log(
    `| ${name} | ${fmt(r.s * 1000, 1)} ms | ${fmt(r.floor * 1000, 2)} ms | ${fmt(r.s / r.floor, 1)}x |`,
  );
row("noise draw 16x257x768 (one prior step's)", host.noise);
row("prior step on the host (noise + posterior mean + variance)", host.priorStep);
row("UniPC step, 16x4x64x64", host.unipcStep);

const pipeline = await standInPipeline(FULL_WIDTH, join(dir, "full"));
console.log(
  `\nWhole pipeline at full sizes, N = 16, stand-in graphs: ${fmt(pipeline.total, 1)} s; peak memory over the`,
);
console.log(`start: ${fmt(pipeline.buffersMb, 0)} MB of JS buffers, ${fmt(pipeline.rssMb, 0)} MB RSS.\n`);
console.log("| stage | seconds |");
console.log("|---|---|");
for (const [stage, s] of pipeline.stageSeconds) console.log(`| ${stage} | ${fmt(s, 2)} |`);

const tiny = await standInPipeline(TINY, join(dir, "tiny"));
console.log(
  `\nTiny stand-in bundle (5x8 tokens, 4x2x2 latents), N = 16: ${fmt(tiny.total * 1000, 0)} ms per reconstruction.\n`,
);

const step1 = await realPriorStep(1);
const step16 = await realPriorStep(N);
const priorMac = 28.6e9;
console.log("| real prior step (56M params, random weights) | measured | FLOP floor | ratio |");
console.log("|---|---|---|---|");
for (const [batch, s] of [
  [1, step1],
  [N, step16],
] as const) {
  const floor = (2 * priorMac * batch) / flops;
  console.log(`| batch ${batch} | ${fmt(s, 2)} s | ${fmt(floor, 2)} s | ${fmt(s / floor, 2)}x |`);
}

const hostPrior = host.priorStep.s;
console.log("\n| stage at N = 16 (reference §8.2) | calls | estimate on this CPU | basis |");
console.log("|---|---|---|---|");
console.log(
  `| prior, 100 DDPM steps at batch 16 | 100 | ${fmt((100 * (step16 + hostPrior)) / 60, 1)} min | measured step + host |`,
);
const floorRow = (name: string, calls: number, mac: number) =>
  console.log(
    `| ${name} | ${calls} | ${fmt((calls * 2 * mac) / flops / 60, 1)} min | FLOP floor only (graph not exported here) |`,
  );
floorRow("VD UNet, 17 steps x 32 rows (text branch pruned)", 544, 409e9);
floorRow("VAE decode x17 + encode x1", 18, 1.26e12 + 0.56e12 / 18);
floorRow("CLIP ViT-L/14 x16", 16, 80.9e9);
await rm(dir, { recursive: true, force: true });
