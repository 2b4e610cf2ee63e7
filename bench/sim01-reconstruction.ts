/**
 * sim01 reconstructs (issue 14, deliverables 4 and 5): held-out test images reconstructed through
 * `reconstruct` on the generated sim01 bundle (the one `npm start` serves; generated into the shared test
 * cache, test/helpers/sim01-cache.ts, when absent), scored with PixCorr, SSIM and two-way identification by
 * the stand-in CLIP against the three controls, with each control's paired gap (mean ± standard error over
 * the trials); and the time per reconstruction against one voxel2clip call (the retrieval path) measured in
 * the same run.
 *
 *   npx tsx bench/sim01-reconstruction.ts [trials=100] [samples=16] [decoder_steps=20]
 */
import { join } from "node:path";
import { GraphSession } from "../gpu-worker/reconstruction/graph-session.ts";
import {
  CONDITIONS,
  evaluateReconstructions,
  METRICS,
  pairedGap,
} from "../gpu-worker/sim/recon/evaluate-reconstructions.ts";
import { heldOutTrials } from "../gpu-worker/sim/recon/held-out-trials.ts";
import { sharedSim01 } from "../test/helpers/sim01-cache.ts";
import { fmt, machineLine } from "./harness.ts";

const [trialCount, samples, decoderSteps] = [100, 16, 20].map((d, i) => Number(process.argv[2 + i] ?? d));
const sim = await sharedSim01();
const trials = await heldOutTrials(sim, trialCount);

const graph = await GraphSession.open("voxel2clip", join(sim.bundleDir, "voxel2clip.onnx"), {
  providers: ["cpu"],
  intraOpThreads: 1,
});
const input = { voxels: { data: trials[0]!.voxels, dims: [1, trials[0]!.voxels.length] } };
for (let i = 0; i < 5; i++) await graph.runOnce(input, ["backbone", "retrieval"]);
const t0 = performance.now();
for (let i = 0; i < 50; i++) await graph.runOnce(input, ["backbone", "retrieval"]);
const voxel2clipSeconds = (performance.now() - t0) / 1000 / 50;
await graph.release();

const scores = await evaluateReconstructions({
  bundleDir: sim.bundleDir,
  trials,
  options: { samples, decoder_steps: decoderSteps },
});
const of = (condition: string) => scores.find((s) => s.condition === condition)!;
console.log(machineLine());
console.log(
  `${trials.length} held-out test images, N = ${samples}, 100 prior steps, ${decoderSteps} decoder steps\n`,
);
console.log(
  "| condition | PixCorr | SSIM | 2-way ident. (stand-in CLIP) | s / reconstruction | × one voxel2clip call |",
);
console.log("|---|---|---|---|---|---|");
for (const s of scores) {
  console.log(
    `| ${s.condition} | ${fmt(s.pixCorr, 3)} | ${fmt(s.ssim, 3)} | ${fmt(s.identification, 3)} | ${fmt(s.seconds, 3)} | ${fmt(s.seconds / voxel2clipSeconds, 0)} |`,
  );
}
console.log("\nsim01 minus each control, paired over the trials (mean ± standard error):\n");
console.log("| control | PixCorr | SSIM | 2-way ident. |");
console.log("|---|---|---|---|");
for (const control of CONDITIONS.filter((c) => c !== "sim01")) {
  const gaps = METRICS.map((m) => pairedGap(of("sim01"), of(control), m));
  console.log(`| ${control} | ${gaps.map((g) => `${fmt(g.mean, 4)} ± ${fmt(g.se, 4)}`).join(" | ")} |`);
}
console.log(`\nvoxel2clip call: ${fmt(voxel2clipSeconds * 1000, 3)} ms`);
