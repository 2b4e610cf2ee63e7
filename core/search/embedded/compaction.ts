import { ExactEngine } from "./exact-engine.ts";
import type { EmbeddedBackend, IndexFiles } from "./index-files.ts";
import { PayloadTable } from "./payload-table.ts";
import { Segment } from "./segment.ts";
import { shadowed } from "./segment-search.ts";
import { UsearchEngine } from "./usearch-engine.ts";
import type { EngineSettings } from "./vector-engine.ts";

/**
 * Merges committed segments (oldest first) into one: the oldest is loaded into RAM as the base, its
 * shadowed rows removed, and every newer segment's live rows added from its float32 rows. The result
 * is written as the segment of commit `generation` (no raw rows: it is the base of the next merge).
 * Costs one load and save of the base plus the insertion of the newer rows.
 */
export async function compactSegments(
  segments: readonly Segment[],
  settings: EngineSettings,
  backend: EmbeddedBackend,
  files: IndexFiles,
  generation: number,
): Promise<{ segment: Segment; written: string[] }> {
  const base = segments[0]!;
  const engine =
    backend === "usearch"
      ? UsearchEngine.load(settings, files.path(base.entry!.vectors))
      : await ExactEngine.load(settings, files.path(base.entry!.vectors));
  const payloads = new PayloadTable();
  const dead: bigint[] = [];
  for (const [key] of base.payloads.entries()) {
    if (shadowed(segments, 0, key)) dead.push(key);
    else payloads.copyRow(key, base.payloads);
  }
  engine.remove(BigUint64Array.from(dead));
  for (let s = 1; s < segments.length; s++) {
    const segment = segments[s]!;
    const live: bigint[] = [];
    for (const [key] of segment.payloads.entries()) {
      if (!shadowed(segments, s, key)) live.push(key);
    }
    const vectors = await segment.rawVectors(settings, backend, files, live);
    if (live.length > 0) engine.add(BigUint64Array.from(live), vectors);
    for (const key of live) payloads.copyRow(key, segment.payloads);
  }
  const { raw: _raw, ...names } = files.segmentFiles(generation, backend);
  await engine.save(files.path(names.vectors));
  await payloads.save(files.path(names.payloads));
  const entry = { ...names, rows: payloads.size };
  const served = backend === "usearch" ? UsearchEngine.view(settings, files.path(names.vectors)) : engine;
  return { segment: new Segment(entry, served, payloads, null), written: [names.vectors, names.payloads] };
}
