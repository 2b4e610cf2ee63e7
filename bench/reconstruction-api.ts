/**
 * Time to a reconstruction through the API (POST /v1/reconstructions with `Prefer: wait`, the job queue on
 * PGlite, the job worker, PNG encoding, blob writes, signed URLs) against the pipeline alone
 * (ModelServer.reconstruct) on the same bundle, settings and seed, in the same run. By default the tiny
 * stand-in bundle, whose graphs are nearly free, so the ratio shows what the service adds around the
 * pipeline; `--bundle DIR` runs another (sim01's: its generated bundle folder) at its own settings.
 *
 *   npx tsx bench/reconstruction-api.ts [--bundle DIR]   (BENCH_RUNS, default 5; BENCH_SAMPLES, default 16)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { reconstructionJobHandlers } from "../core/inference/reconstruction-job.ts";
import type { ReconstructionSettings, ReconstructionStage } from "../core/inference/reconstructor.ts";
import { startJobWorker } from "../core/jobs/job-worker.ts";
import { nodeBetasReader } from "../core/uploads/betas-reader.ts";
import { ModelServer } from "../gpu-worker/runtime/model-server.ts";
import { standInWeights, TINY, writeStandInBundle } from "../gpu-worker/test-graphs/stand-in-bundle.ts";
import { createHarness } from "../test/helpers/harness.ts";
import { fmt, machineLine } from "./harness.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 16);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const { values: options } = parseArgs({ options: { bundle: { type: "string" } } });
const dir = await mkdtemp(join(tmpdir(), "bench-rec-"));
const bundleDir =
  options.bundle ?? (await writeStandInBundle(dir, standInWeights(TINY, 7), { id: "standin" }));
const models = await ModelServer.open({
  bundleDirs: [bundleDir],
  providers: ["cpu"],
  batch: { maxBatchRows: 16, maxDelayMs: 2, maxQueue: 256 },
  log: { info: () => {}, warn: () => {} },
});
const h = await createHarness(() => ({ inference: models }));
const key = await h.keyFor("bench");
const { uploads, blobs, limits } = h.services;
const worker = await startJobWorker({
  db: h.db,
  handlers: reconstructionJobHandlers({
    inference: models,
    uploads,
    blobs,
    decodedMaxBytes: limits.decodedMaxBytes,
    betasReader: nodeBetasReader,
    reconstructor: models,
  }),
  pollMs: 50,
});

const [model] = await models.listModels();
if (!model?.reconstruction_defaults) throw new Error(`${bundleDir} holds no model that can reconstruct`);
const voxels = Array.from({ length: model.input.voxels }, (_, j) => Math.sin(j * 0.7));
// The model's own settings, as the route fills them in for a request that leaves them out.
const settings: ReconstructionSettings = {
  ...model.reconstruction_defaults,
  samples: SAMPLES,
  prior_steps: 100,
  outputs: ["best", "candidates", "blurry"],
};

// Warm both paths (graph sessions open on the first reconstruction).
await models.reconstruct(model.id, Float32Array.from(voxels), settings, {});

const alone: number[] = [];
const stageMs: Record<string, number[]> = {};
for (let i = 0; i < RUNS; i++) {
  const marks: [ReconstructionStage, number][] = [];
  const t0 = performance.now();
  await models.reconstruct(model.id, Float32Array.from(voxels), settings, {
    onProgress: (p) => marks.push([p.stage, performance.now()]),
  });
  alone.push(performance.now() - t0);
  // Time of each stage: from the previous stage's last step to its own last step.
  let last = t0;
  const perStage = new Map<string, number>();
  for (const [stage, at] of marks) {
    perStage.set(stage, (perStage.get(stage) ?? 0) + at - last);
    last = at;
  }
  for (const [stage, ms] of perStage) {
    stageMs[stage] = [...(stageMs[stage] ?? []), ms];
  }
}

const api: number[] = [];
const queue: number[] = [];
const run: number[] = [];
for (let i = 0; i <= RUNS; i++) {
  const t0 = performance.now();
  const res = await h.request("/v1/reconstructions", {
    method: "POST",
    key,
    headers: { "content-type": "application/json", prefer: "wait=120" },
    body: JSON.stringify({ model: model.id, betas: { values: [voxels] }, samples: SAMPLES }),
  });
  const job = (await res.json()) as {
    status: string;
    created_at: string;
    started_at: string;
    completed_at: string;
  };
  if (job.status !== "succeeded") throw new Error(`job ended ${job.status}`);
  if (i === 0) continue; // the first job also warms the worker's path
  api.push(performance.now() - t0);
  queue.push(Date.parse(job.started_at) - Date.parse(job.created_at));
  run.push(Date.parse(job.completed_at) - Date.parse(job.started_at));
}

console.log(machineLine());
console.log(
  `bundle ${model.id} (${model.outputs.backbone.shape.join("x")} tokens), N = ${SAMPLES}, ${RUNS} runs, medians`,
);
console.log(`pipeline alone            ${fmt(median(alone), 0)} ms  (1.00x)`);
for (const [stage, ms] of Object.entries(stageMs))
  console.log(`  ${stage.padEnd(22)} ${fmt(median(ms), 1)} ms`);
const ratio = median(api) / median(alone);
console.log(`through the API           ${fmt(median(api), 0)} ms  (${fmt(ratio)}x)`);
console.log(`  queue wait             ${fmt(median(queue), 0)} ms`);
console.log(`  job run (claim->done)  ${fmt(median(run), 0)} ms`);

await worker.stop();
await h.close();
await models.close();
await rm(dir, { recursive: true, force: true });
