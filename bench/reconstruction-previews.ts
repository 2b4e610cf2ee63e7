/**
 * What previews cost: one reconstruction with `previews` (candidate 0's x̂₀ decoded by the VAE at batch 1
 * every 5 decoder steps, shrunk to a 128 px PNG) against the same reconstruction without, same bundle,
 * settings and seed, in the same run. The full-width stand-in bundle has MindEye1's shapes (257x768
 * tokens, 4x64x64 latents, 512x512 images) with closed-form graphs, so it prices the host-side work and
 * the PNG at full size; what VD's real VAE decoder costs per call scales the same way (1/N of the final
 * decode per preview).
 *
 *   npx tsx bench/reconstruction-previews.ts        (BENCH_RUNS, default 3; BENCH_SAMPLES, default 4)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodePng } from "../core/inference/png.ts";
import { PREVIEW_MAX_SIDE } from "../core/inference/reconstruct-betas.ts";
import type { ReconstructionSettings } from "../core/inference/reconstructor.ts";
import { ModelServer } from "../gpu-worker/runtime/model-server.ts";
import { FULL_WIDTH, standInWeights, writeStandInBundle } from "../gpu-worker/test-graphs/stand-in-bundle.ts";
import { fmt, machineLine } from "./harness.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 4);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = await mkdtemp(join(tmpdir(), "bench-previews-"));
await writeStandInBundle(dir, standInWeights(FULL_WIDTH, 7), { id: "standin-full" });
const models = await ModelServer.open({
  bundleDirs: [dir],
  providers: ["cpu"],
  batch: { maxBatchRows: 16, maxDelayMs: 2, maxQueue: 256 },
  log: { info: () => {}, warn: () => {} },
});
const voxels = Float32Array.from({ length: FULL_WIDTH.voxels }, (_, j) => Math.sin(j * 0.7));
const settings: ReconstructionSettings = {
  samples: SAMPLES,
  seed: 42,
  prior_steps: 100,
  decoder_steps: 20,
  guidance_scale: 3.5,
  img2img_strength: 0.85,
  outputs: ["best"],
};

async function once(
  previews: boolean,
): Promise<{ ms: number; previewMs: number; previews: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  let previewMs = 0;
  let last = 0;
  const t0 = performance.now();
  await models.reconstruct(
    "standin-full",
    voxels,
    { ...settings, previews },
    {
      onProgress: (p) => {
        if (p.stage === "decoder") last = performance.now();
      },
      onPreview: async (p) => {
        const png = await encodePng(p.image, 0, PREVIEW_MAX_SIDE);
        count++;
        bytes += png.bytes.byteLength;
        // From the step's end to the PNG in hand: the VAE decode at batch 1 plus the encode.
        previewMs += performance.now() - last;
      },
    },
  );
  return { ms: performance.now() - t0, previewMs, previews: count, bytes };
}

await once(true); // opens the graph sessions
const off: number[] = [];
const on: number[] = [];
const per: number[] = [];
let shown = { previews: 0, bytes: 0 };
for (let i = 0; i < RUNS; i++) {
  off.push((await once(false)).ms);
  const withPreviews = await once(true);
  on.push(withPreviews.ms);
  per.push(withPreviews.previewMs / withPreviews.previews);
  shown = withPreviews;
}

console.log(machineLine());
console.log(
  `full-width stand-in (257x768 tokens, 512x512 images), N = ${SAMPLES}, 100 + 17 steps, ${RUNS} runs, medians`,
);
console.log(`without previews   ${fmt(median(off), 0)} ms  (1.00x)`);
console.log(`with previews      ${fmt(median(on), 0)} ms  (${fmt(median(on) / median(off), 3)}x)`);
console.log(
  `  ${shown.previews} previews, ${fmt(median(per), 1)} ms each (VAE decode at batch 1 + PNG), ${Math.round(shown.bytes / shown.previews)} bytes each`,
);

await models.close();
await rm(dir, { recursive: true, force: true });
