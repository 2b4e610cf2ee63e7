const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
const ID_BYTES = 16;
// Filled from the CSPRNG (Web Crypto) 256 ids at a time: one call per request id was a tenth of a trivial
// request. 4096 bytes stays under getRandomValues' 65536-byte limit.
const pool = new Uint8Array(ID_BYTES * 256);
let offset = pool.length;

/**
 * Resource ids: a type prefix and 16 random bytes in lowercase base32 (e.g. `job_3k2...`), so an id says
 * what it names and cannot be guessed. Time order is not encoded; lists sort by created_at.
 */
export function newId(prefix: "lab" | "key" | "upl" | "job" | "evt" | "whd" | "req" | "ing"): string {
  if (offset === pool.length) {
    crypto.getRandomValues(pool);
    offset = 0;
  }
  let out = `${prefix}_`;
  for (let i = offset; i < offset + ID_BYTES; i++) out += ALPHABET[pool[i]! & 31];
  offset += ID_BYTES;
  return out;
}
