import { ApiError } from "../../contracts/errors.ts";
import type { PointId } from "../vector-index.ts";

/**
 * Engine keys for point ids. Numeric ids (safe integers) are their own key; string ids get keys from
 * the top half of the u64 range, handed out in order, so the two kinds never collide. A deleted string
 * id keeps its key: stored again, it shadows its own tombstone.
 */
export class PointKeys {
  private readonly keyOfString = new Map<string, bigint>();

  constructor(private nextStringKey: bigint) {}

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

  /** Records the key of a string id (a no-op for numbers). */
  assign(id: PointId, key: bigint): void {
    if (typeof id !== "string" || this.keyOfString.has(id)) return;
    this.keyOfString.set(id, key);
    if (key >= this.nextStringKey) this.nextStringKey = key + 1n;
  }
}
