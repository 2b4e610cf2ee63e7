import { checkFilter } from "../payload-filter.ts";
import type { Metric, PointId, QueryOptions, SearchHit, VectorIndex, VectorPoint } from "../vector-index.ts";
import { checkedVector, prepared } from "../vectors.ts";
import { compactSegments } from "./compaction.ts";
import type { EmbeddedBackend, IndexFiles, Manifest } from "./index-files.ts";
import type { PointKeys } from "./point-keys.ts";
import { Segment } from "./segment.ts";
import { searchSegments } from "./segment-search.ts";
import type { EngineSettings } from "./vector-engine.ts";

/**
 * An index in a local folder, as a list of segments (oldest first). Committed segments are immutable
 * (usearch ones memory-mapped); writes go to one new segment that the next flush commits by appending
 * it to the manifest, so a flush costs what changed, not the whole index. Queries search every segment
 * and merge. `compact()` folds all segments into one. Writes are serialised; reads never wait for them.
 */
export class EmbeddedIndex implements VectorIndex {
  readonly dim: number;
  readonly metric: Metric;
  readonly backend: EmbeddedBackend;
  private writable: Segment | null = null;
  private liveCount: number;
  private dirty = false;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    readonly name: string,
    private manifest: Manifest,
    private readonly settings: EngineSettings,
    private committed: Segment[],
    private readonly keys: PointKeys,
    private readonly files: IndexFiles,
  ) {
    this.dim = manifest.dim;
    this.metric = manifest.metric;
    this.backend = manifest.backend;
    this.liveCount = manifest.count;
  }

  /** True when this index shows that manifest's commit (plus, perhaps, its own writes since). */
  shows(manifest: Manifest): boolean {
    return manifest.uid === this.manifest.uid && manifest.generation === this.manifest.generation;
  }

  /** Committed segments by vector file, for the same index reopened on a newer manifest to reuse. */
  segmentsFor(manifest: Manifest): ReadonlyMap<string, Segment> {
    if (manifest.uid !== this.manifest.uid) return new Map();
    return new Map(this.committed.map((s) => [s.entry!.vectors, s]));
  }

  get segmentCount(): number {
    return this.committed.length;
  }

  async upsert(points: readonly VectorPoint[]): Promise<void> {
    // Validate everything first, so a bad point leaves the index untouched.
    const vectors = new Float32Array(points.length * this.dim);
    points.forEach((point, i) => {
      const vector = checkedVector(point.vector, this.dim, `point ${JSON.stringify(point.id)}`);
      vectors.set(prepared(vector, this.metric), i * this.dim);
      this.keys.keyFor(point.id);
    });
    return this.serialised(async () => {
      const latest = new Map<PointId, number>();
      // A repeated id in one batch: the last one wins.
      points.forEach((point, i) => {
        latest.set(point.id, i);
      });
      const order = [...latest.values()];
      const keys = new BigUint64Array(order.length);
      const rows = new Float32Array(order.length * this.dim);
      const segment = this.writableSegment();
      order.forEach((i, j) => {
        const point = points[i]!;
        const key = this.keys.keyFor(point.id);
        this.keys.assign(point.id, key);
        if (!this.isLive(key)) this.liveCount++;
        keys[j] = key;
        segment.payloads.set(key, point.id, point.payload);
        rows.set(vectors.subarray(i * this.dim, (i + 1) * this.dim), j * this.dim);
      });
      segment.engine.remove(keys);
      segment.engine.add(keys, rows);
      segment.raw?.remove(keys);
      segment.raw?.add(keys, rows);
      this.dirty = true;
    });
  }

  async query(vector: Float32Array | readonly number[], options: QueryOptions): Promise<SearchHit[]> {
    return (await this.queryBatch([vector], options))[0]!;
  }

  async queryBatch(
    vectors: readonly (Float32Array | readonly number[])[],
    options: QueryOptions,
  ): Promise<SearchHit[][]> {
    checkFilter(options.filter);
    const queries = vectors.map((v, i) => prepared(checkedVector(v, this.dim, `query ${i}`), this.metric));
    return searchSegments(this.segments(), queries, options.k, options.filter);
  }

  async count(): Promise<number> {
    return this.liveCount;
  }

  async delete(ids: readonly PointId[]): Promise<void> {
    return this.serialised(async () => {
      const removed: bigint[] = [];
      for (const id of ids) {
        const key = this.keys.keyFor(id);
        if (!this.isLive(key)) continue;
        const segment = this.writableSegment();
        segment.payloads.delete(
          key,
          this.committed.some((s) => s.payloads.has(key)),
        );
        removed.push(key);
        this.liveCount--;
      }
      if (removed.length === 0) return;
      const keys = BigUint64Array.from(removed);
      this.writable!.engine.remove(keys);
      this.writable!.raw?.remove(keys);
      this.dirty = true;
    });
  }

  /** Commits the writes since the last flush as one new segment. */
  flush(): Promise<void> {
    return this.serialised(() => this.commitWritable());
  }

  /**
   * Folds every segment into one (after committing pending writes), dropping shadowed rows and
   * tombstones. Crash-safe: the merged segment is written under new names and the manifest switched
   * to it atomically; until then the old segments stay current. Resolves to whether there was work.
   */
  compact(): Promise<boolean> {
    let merged = false;
    return this.serialised(async () => {
      await this.commitWritable();
      if (this.committed.length <= 1) return;
      const generation = this.manifest.generation + 1;
      const { segment, written } = await compactSegments(
        this.committed,
        this.settings,
        this.backend,
        this.files,
        generation,
      );
      const next: Manifest = {
        ...this.manifest,
        generation,
        count: segment.payloads.size,
        segments: [segment.entry!],
      };
      await this.files.commit(next, written);
      this.manifest = next;
      this.committed = [segment];
      this.liveCount = next.count;
      merged = true;
    }).then(() => merged);
  }

  /** Commits pending writes. A shared, served index is released by its store, not here. */
  close(): Promise<void> {
    return this.flush();
  }

  private segments(): Segment[] {
    return this.writable ? [...this.committed, this.writable] : this.committed;
  }

  private writableSegment(): Segment {
    this.writable ??= Segment.empty(this.settings, this.backend);
    return this.writable;
  }

  private isLive(key: bigint): boolean {
    const segments = this.segments();
    for (let s = segments.length - 1; s >= 0; s--) {
      const payloads = segments[s]!.payloads;
      if (payloads.has(key)) return true;
      if (payloads.decides(key)) return false;
    }
    return false;
  }

  private async commitWritable(): Promise<void> {
    if (!this.dirty || !this.writable) return;
    const generation = this.manifest.generation + 1;
    const names = this.files.segmentFiles(generation, this.backend);
    const written = await this.writable.save(this.files, names);
    const entry = { ...names, rows: this.writable.payloads.size };
    const next: Manifest = {
      ...this.manifest,
      generation,
      count: this.liveCount,
      nextStringKey: this.keys.stringKeyCursor.toString(),
      segments: [...this.manifest.segments, entry],
    };
    await this.files.commit(next, written);
    this.committed = [...this.committed, this.writable.sealed(this.settings, this.files, entry)];
    this.writable = null;
    this.manifest = next;
    this.dirty = false;
  }

  private serialised(fn: () => Promise<void>): Promise<void> {
    const run = this.writes.then(fn);
    this.writes = run.catch(() => {});
    return run;
  }
}
