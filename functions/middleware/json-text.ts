import { ApiError } from "../../core/contracts/errors.ts";

/** Deepest nesting of arrays and objects a JSON body may have; betas need 3, the deepest body about 6. */
export const MAX_JSON_DEPTH = 64;

/**
 * Parses a JSON request body after checking what JSON.parse would accept but the service cannot take:
 * nesting past MAX_JSON_DEPTH (recursive validators and serialisers overflow the stack) and a NUL
 * character in any string or key (PostgreSQL cannot store U+0000 in text or jsonb).
 */
export function parseRequestJson(text: string): unknown {
  assertDepth(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ApiError("invalid_request", `The body is not valid JSON: ${(error as Error).message}.`);
  }
  // The walk is only needed when the text holds an escaped NUL (a raw one is invalid JSON already).
  if (text.includes("\\u0000")) {
    const where = nulPath(value, "body");
    if (where) {
      throw new ApiError(
        "invalid_request",
        `${where} contains a NUL character (\\u0000), which cannot be stored. Remove it and send again.`,
        { fields: { errors: [{ path: where, message: "contains U+0000" }] } },
      );
    }
  }
  return value;
}

function assertDepth(text: string): void {
  // Nesting deeper than MAX_JSON_DEPTH needs more openers than that; most bodies (an embedding of 768
  // numbers) hold a handful, and counting them with indexOf skips the character-by-character scan.
  if (openersAtMost(text, MAX_JSON_DEPTH)) return;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) {
      inString = true;
    } else if (ch === 0x5b || ch === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) {
        throw new ApiError(
          "invalid_request",
          `The JSON body is nested more than ${MAX_JSON_DEPTH} levels deep; no request of this API needs that. Flatten it.`,
          { fields: { max_depth: MAX_JSON_DEPTH } },
        );
      }
    } else if (ch === 0x5d || ch === 0x7d) {
      depth--;
    }
  }
}

/** Whether `text` holds at most `limit` of `[` and `{` together (in strings or not: an upper bound). */
function openersAtMost(text: string, limit: number): boolean {
  let count = 0;
  for (const opener of ["[", "{"]) {
    for (let i = text.indexOf(opener); i !== -1; i = text.indexOf(opener, i + 1)) {
      if (++count > limit) return false;
    }
  }
  return true;
}

/** The path of the first string or key holding U+0000 (depth is bounded by then), or null. */
function nulPath(value: unknown, path: string): string | null {
  if (typeof value === "string") return value.includes("\0") ? path : null;
  if (!value || typeof value !== "object") return null;
  for (const [key, item] of Object.entries(value)) {
    const here = `${path}.${key}`;
    if (key.includes("\0")) return here;
    const found = nulPath(item, here);
    if (found) return found;
  }
  return null;
}
