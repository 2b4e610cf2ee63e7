import { ExactEngine } from "./exact-engine.ts";
import type { EmbeddedBackend, IndexFiles, SegmentEntry } from "./index-files.ts";
import { PayloadTable } from "./payload-table.ts";
import { UsearchEngine } from "./usearch-engine.ts";
import type { EngineSettings, VectorEngine } from "./vector-engine.ts";

/**
 * One segment of an embedded index: a vector engine and the payload table of the same rows. Committed
 * segments are immutable and shared by every EmbeddedIndex opened on a manifest that names them; the
 * newest segment of an index takes its writes until the next commit (`entry` is null until then).
 */
export class Segment {
  constructor(
    readonly entry: SegmentEntry | null,
    readonly engine: VectorEngine,
    readonly payloads: PayloadTable,
    /** A writable usearch segment's float32 rows, saved beside its graph for compaction. */
    readonly raw: ExactEngine | null,
  ) {}

  static empty(settings: EngineSettings, backend: EmbeddedBackend): Segment {
    return backend === "usearch"
      ? new Segment(null, UsearchEngine.create(settings), new PayloadTable(), new ExactEngine(settings))
      : new Segment(null, new ExactEngine(settings), new PayloadTable(), null);
  }

  /** usearch segments are memory-mapped views; exact ones are read into RAM. */
  static async open(
    settings: EngineSettings,
    backend: EmbeddedBackend,
    files: IndexFiles,
    entry: SegmentEntry,
  ): Promise<Segment> {
    const engine =
      backend === "usearch"
        ? UsearchEngine.view(settings, files.path(entry.vectors))
        : await ExactEngine.load(settings, files.path(entry.vectors));
    return new Segment(entry, engine, await PayloadTable.load(files.path(entry.payloads)), null);
  }

  /** This writable segment once committed as `entry`: usearch graphs reopen as views, freeing their RAM. */
  sealed(settings: EngineSettings, files: IndexFiles, entry: SegmentEntry): Segment {
    const engine = this.raw ? UsearchEngine.view(settings, files.path(entry.vectors)) : this.engine;
    return new Segment(entry, engine, this.payloads, null);
  }

  /** Writes this (writable) segment's files; returns their names. */
  async save(files: IndexFiles, names: Omit<SegmentEntry, "rows">): Promise<string[]> {
    await this.engine.save(files.path(names.vectors));
    await this.payloads.save(files.path(names.payloads));
    if (this.raw && names.raw) await this.raw.save(files.path(names.raw));
    return [names.vectors, names.payloads, ...(this.raw && names.raw ? [names.raw] : [])];
  }

  /** Float32 rows of these keys, read from the segment's files (compaction). */
  async rawVectors(
    settings: EngineSettings,
    backend: EmbeddedBackend,
    files: IndexFiles,
    keys: readonly bigint[],
  ): Promise<Float32Array> {
    if (keys.length === 0) return new Float32Array(0);
    const file = backend === "exact" ? this.entry?.vectors : this.entry?.raw;
    if (!file) throw new Error(`segment ${this.entry?.vectors} has no float32 rows to compact from`);
    return (await ExactEngine.load(settings, files.path(file))).vectorsOf(keys);
  }
}
