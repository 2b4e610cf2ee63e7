import usearch from "usearch";
import type { EngineMatches, EngineSettings, VectorEngine } from "./vector-engine.ts";

const { Index, MetricKind, ScalarKind } = usearch;
type UsearchIndex = InstanceType<typeof Index>;

const SCALAR = { f32: ScalarKind.F32, f16: ScalarKind.F16, i8: ScalarKind.I8 } as const;

/**
 * usearch HNSW. A saved segment is opened with mmap `view()` (read-only, pages shared through the page
 * cache, opens in milliseconds); a write to a view first copies it into RAM with `load()`, since a view
 * cannot be modified. expansion_search is fixed when the native index is constructed, so `efSearch` is
 * an open-time setting.
 */
export class UsearchEngine implements VectorEngine {
  private constructor(
    private readonly settings: EngineSettings,
    private native: UsearchIndex,
    private viewedFile: string | null,
  ) {}

  static create(settings: EngineSettings): UsearchEngine {
    return new UsearchEngine(settings, newNative(settings), null);
  }

  static view(settings: EngineSettings, file: string): UsearchEngine {
    const native = newNative(settings);
    native.view(file);
    return new UsearchEngine(settings, native, file);
  }

  /** A writable copy in RAM (compaction adds the newer segments' rows to it). */
  static load(settings: EngineSettings, file: string): UsearchEngine {
    const native = newNative(settings);
    native.load(file);
    return new UsearchEngine(settings, native, null);
  }

  add(keys: BigUint64Array, vectors: Float32Array): void {
    this.writable().add(keys, vectors, 0);
  }

  remove(keys: BigUint64Array): void {
    if (this.size() === 0) return;
    const found = this.native.contains(keys) as boolean[];
    const present = keys.filter((_, i) => found[i]);
    if (present.length > 0) this.writable().remove(present);
  }

  search(queries: Float32Array[], k: number): EngineMatches[] {
    if (this.native.size() === 0 || queries.length === 0)
      return queries.map(() => ({ keys: [], scores: [] }));
    const result = this.native.search(queries, k, 0);
    return queries.map((_, i) => {
      // usearch hands back a plain Matches, not a batch, when the batch holds one query.
      const matches = "get" in result ? result.get(i) : result;
      // usearch reports distances: 1 - cosine for `cos`, 1 - dot for `ip`.
      return { keys: Array.from(matches.keys), scores: Array.from(matches.distances, (d) => 1 - d) };
    });
  }

  size(): number {
    return this.native.size();
  }

  async save(file: string): Promise<void> {
    this.native.save(file);
  }

  private writable(): UsearchIndex {
    if (this.viewedFile) {
      const loaded = newNative(this.settings);
      loaded.load(this.viewedFile);
      this.native = loaded;
      this.viewedFile = null;
    }
    return this.native;
  }
}

function newNative(settings: EngineSettings): UsearchIndex {
  return new Index({
    dimensions: settings.dim,
    metric: settings.metric === "cosine" ? MetricKind.Cos : MetricKind.IP,
    quantization: SCALAR[settings.quantization],
    connectivity: settings.hnsw.m,
    expansion_add: settings.hnsw.efConstruction,
    expansion_search: settings.hnsw.efSearch,
    multi: false,
  });
}
