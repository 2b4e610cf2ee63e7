import * as ort from "onnxruntime-node";
import { iterateTrials, openBetaFile } from "../../core/betas/index.ts";
import { type BundleManifest, bundleCapabilities } from "../../core/contracts/bundle-manifest.ts";
import { ApiError } from "../../core/contracts/errors.ts";
import type {
  EmbeddingOutput,
  ModelDescription,
  ReconstructionDefaults,
  Tensor,
} from "../../core/inference/inference.ts";
import type { LoadedBundle } from "../bundles/load-bundle.ts";
import { modelSettings } from "../reconstruction/model-settings.ts";
import { type BatcherOptions, DynamicBatcher } from "./dynamic-batcher.ts";
import { type ExecutionProvider, openSession } from "./ort-session.ts";

const OUTPUTS: EmbeddingOutput[] = ["backbone", "retrieval"];

/** One bundle made servable: its voxel2clip session behind a dynamic batcher, its mask, its description
 * (with what it can do: a bundle without the decoder graphs embeds and retrieves, and says it cannot reconstruct). */
export class LoadedModel {
  private constructor(
    readonly description: ModelDescription,
    readonly mask: Uint8Array | null,
    readonly provider: ExecutionProvider,
    readonly batcher: DynamicBatcher,
    private readonly session: ort.InferenceSession,
  ) {}

  static async open(
    bundle: LoadedBundle,
    options: { providers: ExecutionProvider[]; intraOpThreads?: number; batch: BatcherOptions },
  ): Promise<LoadedModel & { fallbacks: { provider: string; error: string }[] }> {
    const { manifest } = bundle;
    const graph = bundle.graphs.voxel2clip;
    if (!graph) throw new ApiError("invalid_bundle", `bundle ${manifest.id} has no voxel2clip graph`);
    const opened = await openSession(graph.path, options.providers, {
      intraOpThreads: options.intraOpThreads,
    });
    const voxels = manifest.input.voxels;
    const inputName = graph.inputs[0]!.name;
    const batcher = new DynamicBatcher(
      voxels,
      async (rows, count) => {
        const result = await opened.session.run({
          [inputName]: new ort.Tensor("float32", rows, [count, voxels]),
        });
        return Object.fromEntries(OUTPUTS.map((name) => [name, result[name]!.data as Float32Array]));
      },
      options.batch,
    );
    const mask = manifest.input.mask ? await readMask(`${bundle.dir}/${manifest.input.mask.file}`) : null;
    const model = new LoadedModel(describe(bundle), mask, opened.provider, batcher, opened.session);
    await model.warmUp();
    return Object.assign(model, { fallbacks: opened.fallbacks });
  }

  /** One call at batch 1 and one at the batch limit, so the first lab request does not pay for allocation. */
  private async warmUp(): Promise<void> {
    const voxels = this.description.input.voxels;
    for (const rows of [1, Math.min(8, this.batcher.maxBatchRows)]) {
      await this.batcher.submit(new Float32Array(rows * voxels), rows);
    }
  }

  async embed(betas: Tensor, outputs: EmbeddingOutput[], signal?: AbortSignal) {
    const voxels = this.description.input.voxels;
    const [trials, width] = betas.shape;
    if (betas.shape.length !== 2 || width !== voxels || trials === undefined || trials < 1) {
      throw new ApiError(
        "voxel_count_mismatch",
        `Model ${this.description.id} takes [trials, ${voxels}] betas; got [${betas.shape.join(", ")}].`,
      );
    }
    // Large requests go through in batch-sized pieces so they interleave with other labs' requests.
    const pieces: Promise<Awaited<ReturnType<DynamicBatcher["submit"]>>>[] = [];
    for (let start = 0; start < trials; start += this.batcher.maxBatchRows) {
      const count = Math.min(this.batcher.maxBatchRows, trials - start);
      pieces.push(
        this.batcher.submit(betas.data.subarray(start * voxels, (start + count) * voxels), count, signal),
      );
    }
    const done = await Promise.all(pieces);
    const result: Partial<Record<EmbeddingOutput, Tensor>> = {};
    for (const name of outputs) {
      const shape = [trials, ...this.description.outputs[name].shape];
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      let offset = 0;
      for (const piece of done) {
        data.set(piece.outputs[name]!, offset);
        offset += piece.outputs[name]!.length;
      }
      result[name] = { data, shape };
    }
    return {
      outputs: result,
      timing: {
        queue_ms: Math.max(...done.map((d) => d.queueMs)),
        run_ms: done.reduce((sum, d) => sum + d.runMs, 0),
        batch_size: Math.max(...done.map((d) => d.batchRows)),
      },
    };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

function describe(bundle: LoadedBundle): ModelDescription {
  const { manifest } = bundle;
  const space = (name: EmbeddingOutput) => {
    const e = manifest.embeddings[name];
    if (!e) throw new ApiError("invalid_bundle", `bundle ${manifest.id} declares no ${name} embedding space`);
    return { shape: [e.tokens, e.dim] };
  };
  const capabilities = bundleCapabilities(manifest);
  return {
    id: manifest.id,
    family: manifest.family,
    subject: manifest.subject,
    version: manifest.version,
    input: {
      voxels: manifest.input.voxels,
      grid: manifest.input.grid,
      ...(manifest.input.training ? { training: manifest.input.training } : {}),
    },
    outputs: { backbone: space("backbone"), retrieval: space("retrieval") },
    capabilities,
    ...(capabilities.reconstruction && { reconstruction_defaults: reconstructionDefaults(manifest) }),
    hashes: manifest.files,
  };
}

function reconstructionDefaults(manifest: BundleManifest): ReconstructionDefaults {
  const { prior, decoder } = modelSettings(manifest);
  return {
    samples: Math.min(prior.samples, 16),
    seed: prior.seed,
    decoder_steps: decoder.steps,
    guidance_scale: decoder.guidanceScale,
    img2img_strength: decoder.img2imgStrength,
  };
}

/** The mask volume as 1 (in) / 0 (out) in C order over the grid; any reader format the betas path accepts. */
async function readMask(path: string): Promise<Uint8Array> {
  const file = await openBetaFile(path);
  try {
    for await (const volume of iterateTrials(file)) return Uint8Array.from(volume, (v) => (v > 0 ? 1 : 0));
  } finally {
    await file.close();
  }
  throw new ApiError("invalid_bundle", `mask ${path} holds no volume`);
}
