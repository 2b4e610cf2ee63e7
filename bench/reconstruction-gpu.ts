/**
 * MindEye1's whole reconstruction at full width on a GPU (issue 14, deliverable 5): every graph of a
 * subject-1 bundle with seeded random weights, one reconstruction at N = 16 with the manifest's settings
 * (100 prior steps, 17 UniPC steps from img2img 0.85, guidance 3.5), timed per stage. Random weights give
 * meaningless pictures at the real cost. Run by `bench/gpu.sh` when a device is lent:
 *
 *   node --expose-gc --import tsx bench/reconstruction-gpu.ts [--provider cuda|cpu] [--precision float16|float32] [--bundle DIR]
 */
import { parseArgs } from "node:util";
import { loadBundle } from "../gpu-worker/bundles/load-bundle.ts";
import { modelSettings } from "../gpu-worker/reconstruction/model-settings.ts";
import {
  openReconstructionGraphs,
  RECONSTRUCTION_GRAPHS,
  releaseGraphs,
} from "../gpu-worker/reconstruction/reconstruction-graphs.ts";
import type { ExecutionProvider } from "../gpu-worker/runtime/ort-session.ts";
import { GaussianGenerator } from "../gpu-worker/samplers/gaussian-generator.ts";
import { ensureFullWidthBundle, type Precision } from "./full-width-bundle.ts";
import { fmt, machineLine } from "./harness.ts";
import { timePipeline } from "./pipeline-timing.ts";

const { values: options } = parseArgs({
  options: {
    provider: { type: "string", default: "cuda" },
    precision: { type: "string", default: "float16" },
    bundle: { type: "string" },
  },
});
const provider = options.provider as ExecutionProvider;
const precision = options.precision as Precision;
const N = 16;

const bundle = await loadBundle(
  options.bundle ?? (await ensureFullWidthBundle(RECONSTRUCTION_GRAPHS, precision)),
);
console.log(`reconstruction bench: ${machineLine()}, provider ${provider}, bundle ${bundle.manifest.id}`);
const graphs = await openReconstructionGraphs(bundle, { providers: [provider, "cpu"] });
const ran = Object.values(graphs).map((g) => `${g.name} on ${g.provider}`);
console.log(`graphs: ${ran.join(", ")}`);
const settings = modelSettings(bundle.manifest);
const voxels = new GaussianGenerator(1).fill(new Float32Array(settings.voxels));
const timing = await timePipeline(graphs, settings, voxels, N);
await releaseGraphs(graphs);

console.log(`\nOne reconstruction, N = ${N}: ${fmt(timing.total, 1)} s; host memory over the start:`);
console.log(`${fmt(timing.buffersMb, 0)} MB of JS buffers, ${fmt(timing.rssMb, 0)} MB RSS.\n`);
console.log("| stage | seconds | share |");
console.log("|---|---|---|");
for (const [stage, s] of timing.stageSeconds) {
  console.log(`| ${stage} | ${fmt(s, 2)} | ${fmt((100 * s) / timing.total, 1)}% |`);
}
