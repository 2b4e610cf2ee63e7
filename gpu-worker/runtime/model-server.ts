import type { Logger } from "pino";
import { ApiError } from "../../core/contracts/errors.ts";
import type {
  EmbeddingOutput,
  InferenceService,
  ModelDescription,
  Tensor,
} from "../../core/inference/inference.ts";
import type {
  Reconstruction,
  ReconstructionHooks,
  ReconstructionSettings,
  Reconstructor,
} from "../../core/inference/reconstructor.ts";
import { type LoadedBundle, loadBundle } from "../bundles/load-bundle.ts";
import { BundleReconstructor } from "./bundle-reconstructor.ts";
import type { BatcherOptions, BatchStats } from "./dynamic-batcher.ts";
import { LoadedModel } from "./loaded-model.ts";
import type { ExecutionProvider } from "./ort-session.ts";

export interface ModelServerOptions {
  /** Bundle folders (each holding a manifest.json), already local and complete. */
  bundleDirs: string[];
  providers: ExecutionProvider[];
  intraOpThreads?: number;
  batch: BatcherOptions;
  log: Pick<Logger, "info" | "warn">;
}

/**
 * The in-process model server: every bundle verified, loaded, warmed up, then served through its batcher;
 * reconstructions run each bundle's generative graphs, opened on first use.
 */
export class ModelServer implements InferenceService, Reconstructor {
  private constructor(
    private readonly models: Map<string, LoadedModel>,
    private readonly reconstructor: BundleReconstructor,
  ) {}

  static async open(options: ModelServerOptions): Promise<ModelServer> {
    const models = new Map<string, LoadedModel>();
    const bundles = new Map<string, LoadedBundle>();
    for (const dir of options.bundleDirs) {
      const bundle = await loadBundle(dir);
      const model = await LoadedModel.open(bundle, options);
      for (const f of model.fallbacks) {
        options.log.warn(
          { model: bundle.manifest.id, provider: f.provider, error: f.error },
          "execution provider unavailable",
        );
      }
      options.log.info(
        { model: bundle.manifest.id, provider: model.provider, voxels: bundle.manifest.input.voxels },
        "model loaded and warm",
      );
      models.set(bundle.manifest.id, model);
      bundles.set(bundle.manifest.id, bundle);
    }
    return new ModelServer(models, new BundleReconstructor(bundles, options));
  }

  private model(id: string): LoadedModel {
    const model = this.models.get(id);
    if (!model) {
      const known = [...this.models.keys()].join(", ") || "none";
      throw new ApiError("model_not_found", `There is no model ${id}. Models served here: ${known}.`);
    }
    return model;
  }

  async listModels(): Promise<ModelDescription[]> {
    return [...this.models.values()].map((m) => m.description);
  }

  async getModel(id: string): Promise<ModelDescription> {
    return this.model(id).description;
  }

  async getMask(id: string): Promise<Uint8Array | null> {
    return this.model(id).mask;
  }

  async embed(model: string, betas: Tensor, outputs: EmbeddingOutput[], signal?: AbortSignal) {
    return this.model(model).embed(betas, outputs, signal);
  }

  async reconstruct(
    model: string,
    voxels: Float32Array,
    options: ReconstructionSettings,
    hooks: ReconstructionHooks,
  ): Promise<Reconstruction> {
    this.model(model);
    return this.reconstructor.reconstruct(model, voxels, options, hooks);
  }

  async ready(): Promise<void> {
    if (this.models.size === 0) throw new Error("no model bundles are loaded");
  }

  /** Batching counters per model, for /metrics. */
  batchStats(): Record<string, BatchStats & { provider: string }> {
    return Object.fromEntries(
      [...this.models].map(([id, m]) => [id, { ...m.batcher.stats, provider: m.provider }]),
    );
  }

  async close(): Promise<void> {
    await this.reconstructor.close();
    await Promise.all([...this.models.values()].map((m) => m.close()));
  }
}
