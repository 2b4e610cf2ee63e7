import { checkFilter, matchesFilter } from "../payload-filter.ts";
import type { Metric, PointId, QueryOptions, SearchHit, VectorIndex, VectorPoint } from "../vector-index.ts";
import { checkedVector, prepared } from "../vectors.ts";
import type { EmbeddedBackend, IndexFiles, Manifest } from "./index-files.ts";
import type { PayloadTable } from "./payload-table.ts";
import type { VectorEngine } from "./vector-engine.ts";

/** With a filter, ask the engine for this many times k, doubling until k hits pass or the index is exhausted. */
const FILTER_OVERFETCH = 4;

/**
 * An index in a local folder: a VectorEngine (usearch or exact) for vectors, a PayloadTable for ids and
 * payloads, IndexFiles for crash-safe saves. Writes are serialised; reads never wait for a flush.
 */
export class EmbeddedIndex implements VectorIndex {
  readonly dim: number;
  readonly metric: Metric;
  readonly backend: EmbeddedBackend;
  private dirty = false;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    readonly name: string,
    private manifest: Manifest,
    private readonly engine: VectorEngine,
    private readonly payloads: PayloadTable,
    private readonly files: IndexFiles,
  ) {
    this.dim = manifest.dim;
    this.metric = manifest.metric;
    this.backend = manifest.backend;
  }

  async upsert(points: readonly VectorPoint[]): Promise<void> {
    // Validate everything first, so a bad point leaves the index untouched.
    const vectors = new Float32Array(points.length * this.dim);
    points.forEach((point, i) => {
      const vector = checkedVector(point.vector, this.dim, `point ${JSON.stringify(point.id)}`);
      vectors.set(prepared(vector, this.metric), i * this.dim);
      this.payloads.keyFor(point.id);
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
      order.forEach((i, j) => {
        const point = points[i]!;
        keys[j] = this.payloads.keyFor(point.id);
        this.payloads.set(keys[j]!, point.id, point.payload);
        rows.set(vectors.subarray(i * this.dim, (i + 1) * this.dim), j * this.dim);
      });
      this.engine.remove(keys);
      this.engine.add(keys, rows);
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
    const size = this.engine.size();
    if (!options.filter)
      return this.engine.search(queries, options.k).map((m) => this.hits(m.keys, m.scores, options));
    return queries.map((query) => {
      if (size === 0) return [];
      for (let fetch = options.k * FILTER_OVERFETCH; ; fetch *= 2) {
        const [matches] = this.engine.search([query], Math.min(fetch, size));
        const hits = this.hits(matches!.keys, matches!.scores, options);
        if (hits.length >= options.k || fetch >= size) return hits;
      }
    });
  }

  async count(): Promise<number> {
    return this.engine.size();
  }

  async delete(ids: readonly PointId[]): Promise<void> {
    return this.serialised(async () => {
      const keys = BigUint64Array.from(
        ids.map((id) => this.payloads.keyFor(id)).filter((k) => this.payloads.has(k)),
      );
      this.engine.remove(keys);
      for (const key of keys) this.payloads.delete(key);
      if (keys.length > 0) this.dirty = true;
    });
  }

  flush(): Promise<void> {
    return this.serialised(async () => {
      if (!this.dirty) return;
      const previous = this.manifest.generation > 0 ? this.manifest : null;
      const next: Manifest = {
        ...this.manifest,
        generation: this.manifest.generation + 1,
        count: this.engine.size(),
        nextStringKey: this.payloads.stringKeyCursor.toString(),
      };
      await this.engine.save(this.files.vectorsFile(next.generation, next.backend));
      await this.payloads.save(this.files.payloadsFile(next.generation));
      await this.files.commit(next, previous);
      this.manifest = next;
      this.dirty = false;
    });
  }

  close(): Promise<void> {
    return this.flush();
  }

  private hits(keys: bigint[], scores: number[], options: QueryOptions): SearchHit[] {
    const hits: SearchHit[] = [];
    for (let i = 0; i < keys.length && hits.length < options.k; i++) {
      const row = this.payloads.get(keys[i]!);
      if (!row || !matchesFilter(row.payload, options.filter)) continue;
      hits.push({ id: row.id, score: scores[i]!, payload: row.payload });
    }
    return hits;
  }

  private serialised(fn: () => Promise<void>): Promise<void> {
    const run = this.writes.then(fn);
    this.writes = run.catch(() => {});
    return run;
  }
}
