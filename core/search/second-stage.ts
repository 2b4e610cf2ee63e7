import { ApiError } from "../contracts/errors.ts";
import type { PayloadValue, SearchHit, VectorIndex } from "./vector-index.ts";

/**
 * MindEye's second stage (reference §4.2) through the index interface: the candidates a first-stage
 * search found (pooled vectors) are re-ordered by cosine between the brain's flattened 257x768 tokens and
 * each candidate's tokens, held in a second index whose points carry the same `key` payload value. The
 * token index is searched only among the candidates (an `in` filter on `key`), so nothing else can enter.
 */
export async function rerankAmongCandidates(
  tokenIndex: VectorIndex,
  tokenQueries: readonly Float32Array[],
  firstStage: readonly SearchHit[][],
  key: string,
  k: number,
): Promise<(SearchHit & { first_stage_rank: number | null })[][]> {
  return Promise.all(
    firstStage.map(async (hits, trial) => {
      const keys = hits.map((hit) => hit.payload[key]).filter((v): v is PayloadValue => v !== undefined);
      if (keys.length === 0) {
        throw new ApiError(
          "invalid_request",
          `The first-stage hits carry no "${key}" payload to find them in ${tokenIndex.name} by.`,
        );
      }
      const reranked = await tokenIndex.query(tokenQueries[trial]!, {
        k: Math.min(k, keys.length),
        filter: { [key]: { in: keys } },
      });
      return reranked.map((hit) => {
        const at = keys.indexOf(hit.payload[key] ?? null);
        return { ...hit, first_stage_rank: at >= 0 ? at + 1 : null };
      });
    }),
  );
}
