import { ApiError } from "../contracts/errors.ts";
import { dot, normalized } from "./vectors.ts";

export interface RerankCandidate<T> {
  item: T;
  /** The first-stage score (pooled / retrieval vector against the index). */
  score: number;
  /** The candidate image's 257x768 CLIP tokens, flattened; undefined when the index does not hold them. */
  tokens?: Float32Array;
}

export interface Reranked<T> {
  item: T;
  /** Cosine between the flattened, L2-normalised token sets; the first-stage score when tokens are missing. */
  score: number;
  firstStageScore: number;
}

/**
 * MindEye's second stage (reference §4.2): candidates found by the pooled vector are ordered by cosine
 * between the brain's 257x768 projector output and each candidate's 257x768 CLIP hidden states, both
 * flattened and normalised. Candidates without tokens keep their first-stage order after those with them.
 */
export function rerankByTokens<T>(
  queryTokens: Float32Array,
  candidates: readonly RerankCandidate<T>[],
): Reranked<T>[] {
  const query = normalized(queryTokens);
  const withTokens: Reranked<T>[] = [];
  const without: Reranked<T>[] = [];
  for (const candidate of candidates) {
    if (!candidate.tokens) {
      without.push({ item: candidate.item, score: candidate.score, firstStageScore: candidate.score });
      continue;
    }
    if (candidate.tokens.length !== query.length) {
      throw new ApiError(
        "invalid_vector",
        `candidate tokens have ${candidate.tokens.length} values; the query has ${query.length}`,
      );
    }
    const score = dot(query, normalized(candidate.tokens));
    withTokens.push({ item: candidate.item, score, firstStageScore: candidate.score });
  }
  withTokens.sort((a, b) => b.score - a.score);
  return [...withTokens, ...without];
}

export interface DirectionScores {
  /** Per trial (row), the 1-based rank of its own match among all candidates. */
  ranks: number[];
  /** Fraction of trials whose match ranks first (chance: 1/N). */
  top1: number;
}

export interface CandidateSetScores {
  /** Brain -> image ("fwd"): each brain embedding against all N image embeddings. */
  imageRetrieval: DirectionScores;
  /** Image -> brain ("bwd"): each image embedding against all N brain embeddings. */
  brainRetrieval: DirectionScores;
}

/**
 * MindEye's N-way retrieval (reference §4.1; N = 300 in the papers): row i of `brain` and row i of `images`
 * belong to the same trial; both are flattened and L2-normalised, compared by cosine. Ties count against
 * the match (rank = 1 + number of candidates scoring strictly higher).
 */
export function candidateSetRetrieval(
  brain: readonly Float32Array[],
  images: readonly Float32Array[],
): CandidateSetScores {
  if (brain.length !== images.length || brain.length === 0) {
    throw new ApiError(
      "invalid_request",
      `need the same, non-zero number of brain (${brain.length}) and image (${images.length}) embeddings`,
    );
  }
  const b = brain.map(normalized);
  const v = images.map(normalized);
  const n = b.length;
  const sim = b.map((row) => v.map((col) => dot(row, col)));
  const rankIn = (scores: number[], own: number) =>
    1 + scores.filter((s, j) => j !== own && s > scores[own]!).length;
  const fwd = sim.map((row, i) => rankIn(row, i));
  const bwd = v.map((_, j) =>
    rankIn(
      sim.map((row) => row[j]!),
      j,
    ),
  );
  const top1 = (ranks: number[]) => ranks.filter((r) => r === 1).length / n;
  return { imageRetrieval: { ranks: fwd, top1: top1(fwd) }, brainRetrieval: { ranks: bwd, top1: top1(bwd) } };
}
