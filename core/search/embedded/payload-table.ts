import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { ApiError } from "../../contracts/errors.ts";
import type { Payload, PointId } from "../vector-index.ts";

// String ids get engine keys from the top half of the u64 range, numeric ids (safe integers) use their
// own value, so the two kinds never collide.
const STRING_KEY_BASE = 1n << 63n;

interface Row {
  id: PointId;
  /** Kept as JSON text: a million LAION payloads cost half the memory this way, and only hits are parsed. */
  payload: string;
}

/**
 * Ids and payloads of an embedded index, by the 64-bit engine key. Saved as JSON lines
 * (`["<key>", id, payload]` per point) beside the vector file of the same generation.
 */
export class PayloadTable {
  private rows = new Map<bigint, Row>();
  private keyOfString = new Map<string, bigint>();

  constructor(private nextStringKey = STRING_KEY_BASE) {}

  get size(): number {
    return this.rows.size;
  }

  get stringKeyCursor(): bigint {
    return this.nextStringKey;
  }

  /** The key an id has, or would get if it were inserted now. */
  keyFor(id: PointId): bigint {
    if (typeof id === "number") {
      if (!Number.isSafeInteger(id) || id < 0) {
        throw new ApiError(
          "invalid_request",
          `point id ${id} must be a non-negative safe integer or a string`,
        );
      }
      return BigInt(id);
    }
    return this.keyOfString.get(id) ?? this.nextStringKey;
  }

  has(key: bigint): boolean {
    return this.rows.has(key);
  }

  set(key: bigint, id: PointId, payload: Payload | undefined): void {
    if (typeof id === "string" && !this.keyOfString.has(id)) {
      this.keyOfString.set(id, key);
      if (key >= this.nextStringKey) this.nextStringKey = key + 1n;
    }
    this.rows.set(key, { id, payload: JSON.stringify(payload ?? {}) });
  }

  delete(key: bigint): void {
    const row = this.rows.get(key);
    if (!row) return;
    this.rows.delete(key);
    if (typeof row.id === "string") this.keyOfString.delete(row.id);
  }

  get(key: bigint): { id: PointId; payload: Payload } | undefined {
    const row = this.rows.get(key);
    return row && { id: row.id, payload: JSON.parse(row.payload) as Payload };
  }

  async save(file: string): Promise<void> {
    const out = createWriteStream(file);
    for (const [key, row] of this.rows) {
      if (!out.write(`["${key}",${JSON.stringify(row.id)},${row.payload}]\n`)) await once(out, "drain");
    }
    out.end();
    await once(out, "finish");
  }

  static async load(file: string, nextStringKey: bigint): Promise<PayloadTable> {
    const table = new PayloadTable(nextStringKey);
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      if (!line) continue;
      const [key, id, payload] = JSON.parse(line) as [string, PointId, Payload];
      table.set(BigInt(key), id, payload);
    }
    return table;
  }
}
