/**
 * sim01 reconstructs (issue 14, deliverables 4 and 5): held-out test images reconstructed through
 * `reconstruct` on the world's bundle (gpu-worker/sim/recon/) at the bundle's settings (N = 16, 100 prior
 * steps, 20 UniPC steps, img2img 0.85), scored with PixCorr, SSIM and two-way identification by the
 * stand-in CLIP, against the three controls; and the time per reconstruction against one voxel2clip call
 * (the retrieval path) measured in the same run.
 *
 *   npx tsx bench/sim01-reconstruction.ts [trials=100]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GraphSession } from "../gpu-worker/reconstruction/graph-session.ts";
import { fitVoxel2clip } from "../gpu-worker/sim/fit-voxel2clip.ts";
import { voxel2clipGraph } from "../gpu-worker/sim/onnx-graphs.ts";
import { evaluateReconstructions } from "../gpu-worker/sim/recon/evaluate-reconstructions.ts";
import { heldOutTrials } from "../gpu-worker/sim/recon/held-out-trials.ts";
import { fitReconWorld } from "../gpu-worker/sim/recon/recon-world.ts";
import { buildWorld } from "../gpu-worker/sim/world.ts";
import { openGraph } from "../gpu-worker/test-graphs/open-graph.ts";
import { fmt, machineLine } from "./harness.ts";

const trialCount = Number(process.argv[2] ?? 100);
const started = performance.now();
const log = (m: string) => console.error(`${((performance.now() - started) / 1000).toFixed(0)} s: ${m}`);
const world = buildWorld(log);
const fit = fitVoxel2clip(world, log);
const recon = fitReconWorld(world, fit);
log("fitted the reconstruction world");
const trials = heldOutTrials(world).slice(0, trialCount);

const dir = await mkdtemp(join(tmpdir(), "sim01-bench-"));
let voxel2clipSeconds: number;
try {
  const graph: GraphSession = await openGraph(
    dir,
    "voxel2clip",
    voxel2clipGraph(fit, trials[0]!.voxels.length, world.backboneRotation),
  );
  const input = { voxels: { data: trials[0]!.voxels, dims: [1, trials[0]!.voxels.length] } };
  for (let i = 0; i < 5; i++) await graph.runOnce(input, ["backbone", "retrieval"]);
  const t0 = performance.now();
  for (let i = 0; i < 50; i++) await graph.runOnce(input, ["backbone", "retrieval"]);
  voxel2clipSeconds = (performance.now() - t0) / 1000 / 50;
  await graph.release();
} finally {
  await rm(dir, { recursive: true, force: true });
}

const scores = await evaluateReconstructions({ world, fit, recon, trials });
console.log(machineLine());
console.log(
  `${trials.length} held-out test images, bundle settings (N = 16, 100 prior steps, 20 decoder steps)\n`,
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
console.log(`\nvoxel2clip call: ${fmt(voxel2clipSeconds * 1000, 3)} ms`);
