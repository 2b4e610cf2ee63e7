import type { PreprocessingRequest } from "../betas/index.ts";
import { type BetasSource, type PrepareDeps, type PreparedBetas, prepareBetas } from "./prepare-betas.ts";

/**
 * Brain embeddings as search queries: the model's `retrieval` output of each (averaged) trial, flattened
 * into one vector per trial, as MindEye compares them (flattened, then cosine).
 */
export async function retrievalQueries(
  deps: PrepareDeps,
  labId: string,
  modelId: string,
  source: BetasSource,
  preprocessing: PreprocessingRequest | undefined,
  limits: { maxTrials?: number },
  signal?: AbortSignal,
): Promise<{ queries: Float32Array[]; prepared: PreparedBetas }> {
  const prepared = await prepareBetas(deps, labId, modelId, source, preprocessing, limits);
  const result = await deps.inference.embed(modelId, prepared.matrix, ["retrieval"], signal);
  const tensor = result.outputs.retrieval!;
  const trials = tensor.shape[0]!;
  const width = tensor.data.length / trials;
  const queries = Array.from({ length: trials }, (_, i) => tensor.data.subarray(i * width, (i + 1) * width));
  return { queries, prepared };
}

/** Rows of a [n, ...] tensor (or one [d] vector) as flat vectors. */
export function rowsOf(tensor: { data: Float32Array; shape: number[] }): Float32Array[] {
  const rows = tensor.shape.length === 1 ? 1 : tensor.shape[0]!;
  const width = tensor.data.length / rows;
  return Array.from({ length: rows }, (_, i) => tensor.data.subarray(i * width, (i + 1) * width));
}
