import { ApiError } from "../contracts/errors.ts";
import type { Payload, PayloadFilter, PayloadValue } from "./vector-index.ts";

/** True when every condition holds: `field: value` is equality, `field: {in: [...]}` is membership. */
export function matchesFilter(payload: Payload, filter: PayloadFilter | undefined): boolean {
  if (!filter) return true;
  for (const [field, condition] of Object.entries(filter)) {
    const value = payload[field];
    if (value === undefined) return false;
    if (isInList(condition)) {
      if (!condition.in.includes(value)) return false;
    } else if (value !== condition) {
      return false;
    }
  }
  return true;
}

export function isInList(condition: PayloadFilter[string]): condition is { in: readonly PayloadValue[] } {
  return typeof condition === "object" && condition !== null && "in" in condition;
}

/** Refuses filters a backend could not express the same way (Qdrant matches strings, integers and booleans). */
export function checkFilter(filter: PayloadFilter | undefined): void {
  if (!filter) return;
  for (const [field, condition] of Object.entries(filter)) {
    const values = isInList(condition) ? condition.in : [condition];
    for (const value of values) {
      const ok = typeof value === "string" || typeof value === "boolean" || Number.isSafeInteger(value);
      if (!ok) {
        throw new ApiError(
          "invalid_request",
          `filter on "${field}": match values must be strings, integers or booleans, got ${JSON.stringify(value)}`,
        );
      }
    }
  }
}
