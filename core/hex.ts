/** Lowercase hex of bytes, as node:crypto's `digest("hex")` writes it, for Web Crypto's ArrayBuffers. */
export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  let out = "";
  for (const byte of new Uint8Array(bytes)) out += byte.toString(16).padStart(2, "0");
  return out;
}
