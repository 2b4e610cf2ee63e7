import { ApiError } from "../../core/contracts/errors.ts";
import type {
  Reconstruction,
  ReconstructionHooks,
  ReconstructionSettings,
  ReconstructionStage,
  Reconstructor,
} from "../../core/inference/reconstructor.ts";
import type { LoadedBundle } from "../bundles/load-bundle.ts";
import { modelSettings } from "../reconstruction/model-settings.ts";
import { type ReconstructionStage as PipelineStage, reconstruct } from "../reconstruction/reconstruct.ts";
import {
  openReconstructionGraphs,
  type ReconstructionGraphs,
  releaseGraphs,
} from "../reconstruction/reconstruction-graphs.ts";
import type { ExecutionProvider } from "./ort-session.ts";

// The pipeline reports its VAE calls as stages of their own; labs see them as part of lowlevel and decode.
const STAGE: Record<PipelineStage, ReconstructionStage> = {
  embed: "embed",
  prior: "prior",
  lowlevel: "lowlevel",
  vae_encode: "lowlevel",
  decoder: "decoder",
  vae_decode: "decode",
  select: "select",
};

/**
 * `core`'s Reconstructor over loaded bundles: each model's seven graphs are opened on its first
 * reconstruction and kept, and one model runs one reconstruction at a time (the pipeline's graph sessions
 * hold their output buffers).
 */
export class BundleReconstructor implements Reconstructor {
  private readonly opened = new Map<string, Promise<ReconstructionGraphs>>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly bundles: Map<string, LoadedBundle>,
    private readonly options: { providers: ExecutionProvider[]; intraOpThreads?: number },
  ) {}

  async reconstruct(
    model: string,
    voxels: Float32Array,
    options: ReconstructionSettings,
    hooks: ReconstructionHooks,
  ): Promise<Reconstruction> {
    const bundle = this.bundles.get(model);
    if (!bundle) throw new ApiError("model_not_found", `There is no model ${model} on this worker.`);
    const settings = modelSettings(bundle.manifest);
    const run = async () =>
      reconstruct({
        graphs: await this.graphs(bundle),
        settings,
        voxels,
        options,
        signal: hooks.signal,
        onProgress: (p) => hooks.onProgress?.({ ...p, stage: STAGE[p.stage] }),
        onPreview: hooks.onPreview,
      });
    const previous = this.queues.get(model) ?? Promise.resolve();
    const result = previous.then(run, run);
    this.queues.set(
      model,
      result.catch(() => {}),
    );
    return result;
  }

  private graphs(bundle: LoadedBundle): Promise<ReconstructionGraphs> {
    const id = bundle.manifest.id;
    let graphs = this.opened.get(id);
    if (!graphs) {
      graphs = openReconstructionGraphs(bundle, this.options);
      // A failed open is not kept: the next job tries again.
      graphs.catch(() => this.opened.delete(id));
      this.opened.set(id, graphs);
    }
    return graphs;
  }

  async close(): Promise<void> {
    const all = await Promise.allSettled(this.opened.values());
    for (const graphs of all) if (graphs.status === "fulfilled") await releaseGraphs(graphs.value);
    this.opened.clear();
  }
}
