import { randomBytes } from "node:crypto";

/**
 * Resource ids: a type prefix and 16 random bytes in lowercase base32 (e.g. `job_3k2...`), so an id says
 * what it names and cannot be guessed. Time order is not encoded; lists sort by created_at.
 */
export function newId(prefix: "lab" | "key" | "upl" | "job" | "evt" | "whd" | "req" | "ing"): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  const bytes = randomBytes(16);
  let out = "";
  for (const byte of bytes) out += alphabet[byte & 31];
  return `${prefix}_${out}`;
}
