import type { EmbeddingOutput, EmbedTiming, Tensor } from "./inference.ts";
import type { BetasPlan } from "./plan-betas.ts";
import { type PrepareDeps, type PreparedBetas, preparePlanned } from "./prepare-betas.ts";

// Rows per model call: small enough to report progress and notice a cancel often.
const CHUNK_ROWS = 64;

export interface EmbedOptions {
  /** Rows a synchronous caller allows (sync_limit_exceeded past it); a job passes none. */
  maxTrials?: number;
  signal?: AbortSignal;
  /** Called after each chunk of rows is embedded (jobs report it as progress). */
  progress?: (done: number, total: number) => Promise<void>;
}

export interface Embedded {
  outputs: Partial<Record<EmbeddingOutput, Tensor>>;
  prepared: PreparedBetas;
  timing: EmbedTiming;
}

/**
 * The embeddings use case, for /v1/embeddings and its job alike: prepare the planned betas, then embed
 * them in chunks (progress and cancel between chunks) and join each output's rows in order.
 */
export async function embedBetas(
  deps: PrepareDeps,
  plan: BetasPlan,
  outputs: EmbeddingOutput[],
  options: EmbedOptions = {},
): Promise<Embedded> {
  const prepared = await preparePlanned(deps, plan, { maxTrials: options.maxTrials });
  const [trials, voxels] = prepared.matrix.shape;
  const parts: Partial<Record<EmbeddingOutput, Tensor[]>> = {};
  const timing: EmbedTiming = { queue_ms: 0, run_ms: 0, batch_size: 0 };
  for (let start = 0; start < trials; start += CHUNK_ROWS) {
    options.signal?.throwIfAborted();
    const count = Math.min(CHUNK_ROWS, trials - start);
    const rows = prepared.matrix.data.subarray(start * voxels, (start + count) * voxels);
    const result = await deps.inference.embed(
      plan.model.id,
      { data: rows, shape: [count, voxels] },
      outputs,
      options.signal,
    );
    for (const name of outputs) parts[name] = [...(parts[name] ?? []), result.outputs[name]!];
    timing.queue_ms += result.timing.queue_ms;
    timing.run_ms += result.timing.run_ms;
    timing.batch_size = Math.max(timing.batch_size, result.timing.batch_size);
    await options.progress?.(start + count, trials);
  }
  const joined = Object.fromEntries(outputs.map((name) => [name, joinRows(parts[name]!, trials)]));
  return { outputs: joined, prepared, timing };
}

function joinRows(parts: Tensor[], trials: number): Tensor {
  if (parts.length === 1) return parts[0]!;
  const data = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
  }
  return { data, shape: [trials, ...parts[0]!.shape.slice(1)] };
}

/** Rows of a [n, ...] tensor (or one [d] vector) as flat vectors: search queries, as MindEye compares them. */
export function rowsOf(tensor: { data: Float32Array; shape: number[] }): Float32Array[] {
  const rows = tensor.shape.length === 1 ? 1 : tensor.shape[0]!;
  const width = tensor.data.length / rows;
  return Array.from({ length: rows }, (_, i) => tensor.data.subarray(i * width, (i + 1) * width));
}
