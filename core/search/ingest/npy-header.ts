import { ApiError } from "../../contracts/errors.ts";

export interface NpyLayout {
  dtype: "float16" | "float32";
  rows: number;
  dim: number;
  /** Byte offset of the first row. */
  dataOffset: number;
  bytesPerValue: 2 | 4;
}

/** Enough bytes to hold any header clip-retrieval writes (format 1.0 headers are < 64 KiB). */
export const NPY_HEADER_PROBE_BYTES = 4096;

/**
 * The header of a 2-D little-endian float16/float32 C-order .npy (what clip-inference writes). A local
 * parser, so ingest can read row ranges without loading the whole shard.
 */
export function parseNpyHeader(bytes: Uint8Array, file: string): NpyLayout {
  const fail = (why: string) => new ApiError("invalid_file", `${file}: ${why}`);
  if (bytes.length < 10 || bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== "NUMPY") {
    throw fail("not an .npy file");
  }
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (bytes.length < start + headerLength) throw fail("header is longer than expected");
  const header = new TextDecoder("latin1").decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shape === undefined) throw fail("header has no descr, fortran_order or shape");
  if (fortran === "True") throw fail("Fortran-order arrays are not supported; save with C order");
  const dtype = descr === "<f2" ? "float16" : descr === "<f4" ? "float32" : null;
  if (!dtype)
    throw fail(`dtype ${descr} is not supported; embeddings must be little-endian float16 or float32`);
  const dims = shape
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (dims.length !== 2) throw fail(`shape (${shape}) is not 2-D [rows, dim]`);
  return {
    dtype,
    rows: dims[0]!,
    dim: dims[1]!,
    dataOffset: start + headerLength,
    bytesPerValue: dtype === "float16" ? 2 : 4,
  };
}

/** Writes the header of a 2-D C-order array (for generated datasets and tests). */
export function npyHeader(dtype: "float16" | "float32", rows: number, dim: number): Uint8Array {
  const dict = `{'descr': '${dtype === "float16" ? "<f2" : "<f4"}', 'fortran_order': False, 'shape': (${rows}, ${dim}), }`;
  // Pad so that magic + version + length + header + newline is a multiple of 64, as numpy does.
  const padded = dict.padEnd(Math.ceil((10 + dict.length + 1) / 64) * 64 - 10 - 1, " ") + "\n";
  const out = new Uint8Array(10 + padded.length);
  out.set([0x93, ...Buffer.from("NUMPY"), 1, 0]);
  new DataView(out.buffer).setUint16(8, padded.length, true);
  out.set(Buffer.from(padded, "latin1"), 10);
  return out;
}
