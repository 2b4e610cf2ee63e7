import type { PreprocessingRequest } from "../betas/index.ts";
import { ApiError } from "../contracts/errors.ts";
import { rerankAmongCandidates } from "../search/second-stage.ts";
import type { PayloadFilter, SearchHit, VectorStore } from "../search/vector-index.ts";
import { withIndex } from "../search/with-index.ts";
import { type EmbedOptions, embedBetas, rowsOf } from "./embed-betas.ts";
import type { InputWarning } from "./input-warnings.ts";
import { type BetasSource, planBetas } from "./plan-betas.ts";
import type { PrepareDeps } from "./prepare-betas.ts";

export interface RetrievalQuery {
  index: string;
  k: number;
  filter?: PayloadFilter;
  /** Brain embeddings of betas (with `model`), or query vectors given as they are. */
  query:
    | { kind: "betas"; model: string; betas: BetasSource; preprocessing?: PreprocessingRequest }
    | { kind: "vectors"; vectors: Float32Array[] };
  /** MindEye's second stage: re-order `candidates` first-stage hits by the token model's embedding. */
  rerank?: { model: string; index: string; key: string; candidates: number };
}

export interface Retrieved {
  results: (SearchHit & { first_stage_rank?: number | null })[][];
  preprocessing: Record<string, unknown> | null;
  warnings: InputWarning[];
}

/**
 * The retrievals use case, for /v1/retrievals and its job alike: embed the betas (the model's flattened
 * `retrieval` output per averaged trial) or take the given vectors, search the index, and optionally
 * rerank by tokens.
 */
export async function retrieve(
  deps: PrepareDeps & { vectors: VectorStore },
  labId: string,
  request: RetrievalQuery,
  options: EmbedOptions = {},
): Promise<Retrieved> {
  const { query } = request;
  const embedWith = async (model: string, betas: BetasSource, preprocessing?: PreprocessingRequest) => {
    const plan = await planBetas(deps, labId, model, betas, preprocessing);
    const embedded = await embedBetas(deps, plan, ["retrieval"], options);
    return { queries: rowsOf(embedded.outputs.retrieval!), prepared: embedded.prepared };
  };
  let queries: Float32Array[];
  let preprocessing: Record<string, unknown> | null = null;
  let warnings: InputWarning[] = [];
  if (query.kind === "betas") {
    const embedded = await embedWith(query.model, query.betas, query.preprocessing);
    queries = embedded.queries;
    preprocessing = { ...embedded.prepared.applied, input_trials: embedded.prepared.inputTrials };
    warnings = embedded.prepared.warnings;
  } else {
    queries = query.vectors;
  }
  const { rerank } = request;
  const results = await withIndex(deps.vectors, request.index, async (index) => {
    const width = queries[0]!.length;
    if (width !== index.dim) {
      throw new ApiError(
        "invalid_vector",
        `Index ${request.index} holds ${index.dim}-d vectors; the queries are ${width}-d. ` +
          "Use a model whose retrieval space matches the index (GET /v1/models, GET /v1/indexes).",
        { fields: { index_dim: index.dim, query_dim: width } },
      );
    }
    return index.queryBatch(queries, {
      k: rerank ? Math.max(request.k, rerank.candidates) : request.k,
      filter: request.filter,
    });
  });
  if (!rerank) return { results, preprocessing, warnings };
  if (query.kind !== "betas")
    throw new ApiError("invalid_request", "The second stage re-embeds betas: send `betas`, not `embedding`.");
  const tokenQueries = (await embedWith(rerank.model, query.betas, query.preprocessing)).queries;
  const reranked = await withIndex(deps.vectors, rerank.index, (tokenIndex) =>
    rerankAmongCandidates(tokenIndex, tokenQueries, results, rerank.key, request.k),
  );
  return { results: reranked, preprocessing, warnings };
}
