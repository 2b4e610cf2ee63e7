import { readFile, writeFile } from "node:fs/promises";
import { exactTopK } from "../exact-search.ts";
import type { EngineMatches, EngineSettings, VectorEngine } from "./vector-engine.ts";

const MAGIC = 0x5358_454d; // "MEXS" little-endian

/**
 * Brute-force search over float32 rows kept in one growing matrix (ground truth; fine to ~20k vectors
 * per query at interactive speed). Quantization is recorded but not applied: the truth stays exact.
 * File: u32 magic, u32 dim, f64 count, count u64 keys, count*dim f32.
 */
export class ExactEngine implements VectorEngine {
  private matrix: Float32Array;
  private keys: bigint[] = [];
  private rowOf = new Map<bigint, number>();

  constructor(private readonly settings: EngineSettings) {
    this.matrix = new Float32Array(settings.dim * 1024);
  }

  static async load(settings: EngineSettings, file: string): Promise<ExactEngine> {
    const engine = new ExactEngine(settings);
    const bytes = await readFile(file);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(0, true) !== MAGIC || view.getUint32(4, true) !== settings.dim) {
      throw new Error(`${file} is not an exact index of dimension ${settings.dim}`);
    }
    const count = view.getFloat64(8, true);
    const keys = new BigUint64Array(
      bytes.buffer.slice(bytes.byteOffset + 16, bytes.byteOffset + 16 + count * 8),
    );
    const start = bytes.byteOffset + 16 + count * 8;
    const vectors = new Float32Array(bytes.buffer.slice(start, start + count * settings.dim * 4));
    engine.add(keys, vectors);
    return engine;
  }

  add(keys: BigUint64Array, vectors: Float32Array): void {
    const dim = this.settings.dim;
    this.reserve(this.keys.length + keys.length);
    for (let i = 0; i < keys.length; i++) {
      const row = this.keys.length;
      this.matrix.set(vectors.subarray(i * dim, (i + 1) * dim), row * dim);
      this.keys.push(keys[i]!);
      this.rowOf.set(keys[i]!, row);
    }
  }

  remove(keys: BigUint64Array): void {
    const dim = this.settings.dim;
    for (const key of keys) {
      const row = this.rowOf.get(key);
      if (row === undefined) continue;
      // Swap the last row into the hole so the matrix stays dense.
      const last = this.keys.length - 1;
      const lastKey = this.keys[last]!;
      this.matrix.copyWithin(row * dim, last * dim, (last + 1) * dim);
      this.keys[row] = lastKey;
      this.rowOf.set(lastKey, row);
      this.keys.pop();
      this.rowOf.delete(key);
    }
  }

  /** The rows of these keys, in order (keys must be present). */
  vectorsOf(keys: readonly bigint[]): Float32Array {
    const dim = this.settings.dim;
    const out = new Float32Array(keys.length * dim);
    keys.forEach((key, i) => {
      const row = this.rowOf.get(key)!;
      out.set(this.matrix.subarray(row * dim, (row + 1) * dim), i * dim);
    });
    return out;
  }

  search(queries: Float32Array[], k: number): EngineMatches[] {
    const live = this.matrix.subarray(0, this.keys.length * this.settings.dim);
    return queries.map((query) => {
      const top = exactTopK(live, this.settings.dim, query, k);
      return { keys: top.rows.map((row) => this.keys[row]!), scores: top.scores };
    });
  }

  size(): number {
    return this.keys.length;
  }

  async save(file: string): Promise<void> {
    const count = this.keys.length;
    const header = Buffer.alloc(16);
    header.writeUInt32LE(MAGIC, 0);
    header.writeUInt32LE(this.settings.dim, 4);
    header.writeDoubleLE(count, 8);
    const keys = Buffer.from(BigUint64Array.from(this.keys).buffer);
    const vectors = Buffer.from(this.matrix.buffer, 0, count * this.settings.dim * 4);
    await writeFile(file, Buffer.concat([header, keys, vectors]));
  }

  private reserve(rows: number): void {
    const needed = rows * this.settings.dim;
    if (needed <= this.matrix.length) return;
    const grown = new Float32Array(Math.max(needed, this.matrix.length * 2));
    grown.set(this.matrix);
    this.matrix = grown;
  }
}
