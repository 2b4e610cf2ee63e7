import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import type { Payload, PointId } from "../vector-index.ts";

interface Row {
  id: PointId;
  /** Kept as JSON text: a million LAION payloads cost half the memory this way, and only hits are parsed. */
  payload: string;
}

/**
 * Ids and payloads of one segment, by 64-bit engine key, and the keys this segment deletes from older
 * segments (tombstones). Saved as JSON lines beside the segment's vectors: `["<key>", id, payload]` per
 * point, `["<key>"]` per tombstone.
 */
export class PayloadTable {
  private rows = new Map<bigint, Row>();
  private readonly tombstones = new Set<bigint>();

  get size(): number {
    return this.rows.size;
  }

  get deletedKeys(): ReadonlySet<bigint> {
    return this.tombstones;
  }

  /** This segment decides the key: it holds a row for it or deletes it. */
  decides(key: bigint): boolean {
    return this.rows.has(key) || this.tombstones.has(key);
  }

  has(key: bigint): boolean {
    return this.rows.has(key);
  }

  set(key: bigint, id: PointId, payload: Payload | undefined): void {
    this.tombstones.delete(key);
    this.rows.set(key, { id, payload: JSON.stringify(payload ?? {}) });
  }

  /** Drops the row; `shadowOlder` also records a tombstone, for a key older segments may still hold. */
  delete(key: bigint, shadowOlder: boolean): void {
    this.rows.delete(key);
    if (shadowOlder) this.tombstones.add(key);
  }

  idOf(key: bigint): PointId | undefined {
    return this.rows.get(key)?.id;
  }

  get(key: bigint): { id: PointId; payload: Payload } | undefined {
    const row = this.rows.get(key);
    return row && { id: row.id, payload: JSON.parse(row.payload) as Payload };
  }

  entries(): IterableIterator<[bigint, Row]> {
    return this.rows.entries();
  }

  /** Copies a row from another table without parsing its payload (compaction). */
  copyRow(key: bigint, from: PayloadTable): void {
    const row = from.rows.get(key);
    if (row) this.rows.set(key, row);
  }

  async save(file: string): Promise<void> {
    const out = createWriteStream(file);
    for (const [key, row] of this.rows) {
      if (!out.write(`["${key}",${JSON.stringify(row.id)},${row.payload}]\n`)) await once(out, "drain");
    }
    for (const key of this.tombstones) {
      if (!out.write(`["${key}"]\n`)) await once(out, "drain");
    }
    out.end();
    await once(out, "finish");
  }

  static async load(file: string): Promise<PayloadTable> {
    const table = new PayloadTable();
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      if (!line) continue;
      const [key, id, payload] = JSON.parse(line) as [string, PointId?, Payload?];
      if (id === undefined) table.tombstones.add(BigInt(key));
      else table.set(BigInt(key), id, payload);
    }
    return table;
  }
}
