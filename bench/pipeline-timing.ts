import type { ModelSettings } from "../gpu-worker/reconstruction/model-settings.ts";
import { type ReconstructionProgress, reconstruct } from "../gpu-worker/reconstruction/reconstruct.ts";
import type { ReconstructionGraphs } from "../gpu-worker/reconstruction/reconstruction-graphs.ts";

export interface PipelineTiming {
  total: number;
  /** Wall seconds per stage, in the order the stages ran. */
  stageSeconds: Map<string, number>;
  rssMb: number;
  buffersMb: number;
}

/**
 * One reconstruction at N = `samples` after a warm-up at N = 1, timed per stage from the pipeline's own
 * progress reports, with the peak memory over a collected heap (run under `node --expose-gc`).
 */
export async function timePipeline(
  graphs: ReconstructionGraphs,
  settings: ModelSettings,
  voxels: Float32Array,
  samples: number,
): Promise<PipelineTiming> {
  await reconstruct({ graphs, settings, voxels, options: { samples: 1 } });
  if (!globalThis.gc) throw new Error("run with node --expose-gc --import tsx");
  globalThis.gc();
  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakBuffers = before.arrayBuffers;
  const stageSeconds = new Map<string, number>();
  let last = performance.now();
  const started = last;
  const onProgress = (p: ReconstructionProgress) => {
    const now = performance.now();
    stageSeconds.set(p.stage, (stageSeconds.get(p.stage) ?? 0) + (now - last) / 1000);
    last = now;
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
  };
  await reconstruct({
    graphs,
    settings,
    voxels,
    options: { samples, outputs: ["best", "candidates"] },
    onProgress,
  });
  return {
    total: (performance.now() - started) / 1000,
    stageSeconds,
    rssMb: (peakRss - before.rss) / 2 ** 20,
    buffersMb: (peakBuffers - before.arrayBuffers) / 2 ** 20,
  };
}
