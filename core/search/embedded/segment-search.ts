import { matchesFilter } from "../payload-filter.ts";
import type { Payload, PayloadFilter, PointId, SearchHit } from "../vector-index.ts";
import type { Segment } from "./segment.ts";
import type { EngineMatches } from "./vector-engine.ts";

/** With a filter, ask each segment for this many times k, doubling until k hits pass or it is exhausted. */
const FILTER_OVERFETCH = 4;

interface Candidate {
  score: number;
  key: bigint;
  segment: number;
  row: { id: PointId; payload: Payload } | undefined;
}

/** True when a segment newer than `segment` holds or deletes `key`, so this segment's row is not live. */
export function shadowed(segments: readonly Segment[], segment: number, key: bigint): boolean {
  for (let s = segments.length - 1; s > segment; s--) if (segments[s]!.payloads.decides(key)) return true;
  return false;
}

/**
 * k-NN over every segment, oldest first: each segment's live rows that pass the filter (its k best,
 * fetching more while shadowed or filtered rows leave it short), merged by score.
 */
export function searchSegments(
  segments: readonly Segment[],
  queries: readonly Float32Array[],
  k: number,
  filter: PayloadFilter | undefined,
): SearchHit[][] {
  const first = filter ? k * FILTER_OVERFETCH : k;
  // One batch call per segment (usearch spreads a batch over its threads); refetches go query by query.
  const batches = segments.map((segment) => {
    const size = segment.engine.size();
    return size === 0 ? null : segment.engine.search([...queries], Math.min(first, size));
  });
  return queries.map((query, q) => {
    const candidates: Candidate[] = [];
    segments.forEach((segment, s) => {
      const batch = batches[s];
      if (!batch) return;
      const size = segment.engine.size();
      let matches = batch[q]!;
      for (let fetch = Math.min(first, size); ; ) {
        const accepted = acceptLive(segments, s, matches, k, filter);
        if (accepted.length >= k || fetch >= size) {
          candidates.push(...accepted);
          return;
        }
        fetch = Math.min(fetch * 2, size);
        matches = segment.engine.search([query], fetch)[0]!;
      }
    });
    if (segments.length > 1) candidates.sort((a, b) => b.score - a.score);
    return candidates.slice(0, k).flatMap((c) => {
      const row = c.row ?? segments[c.segment]!.payloads.get(c.key);
      return row ? [{ id: row.id, score: c.score, payload: row.payload }] : [];
    });
  });
}

function acceptLive(
  segments: readonly Segment[],
  s: number,
  matches: EngineMatches,
  k: number,
  filter: PayloadFilter | undefined,
): Candidate[] {
  const payloads = segments[s]!.payloads;
  const accepted: Candidate[] = [];
  for (let i = 0; i < matches.keys.length && accepted.length < k; i++) {
    const key = matches.keys[i]!;
    if (!payloads.has(key) || shadowed(segments, s, key)) continue;
    // Payloads are parsed only where a filter must read them, or for the final hits.
    const row = filter ? payloads.get(key) : undefined;
    if (filter && !matchesFilter(row!.payload, filter)) continue;
    accepted.push({ score: matches.scores[i]!, key, segment: s, row });
  }
  return accepted;
}
