import { ApiError } from "../../contracts/errors.ts";
import { encodeNpyHeader, parseNpyHeader as parseHeader } from "../../npy/header.ts";

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
 * The layout of a 2-D little-endian float16/float32 C-order .npy (what clip-inference writes), from its
 * header alone, so ingest can read row ranges without loading the whole shard.
 */
export function parseNpyHeader(bytes: Uint8Array, file: string): NpyLayout {
  const { descr, fortranOrder, shape, dataOffset } = parseHeader(bytes, file);
  const fail = (why: string) => new ApiError("invalid_file", `${file}: ${why}`);
  if (fortranOrder) throw fail("Fortran-order arrays are not supported; save with C order");
  const dtype = descr === "<f2" ? "float16" : descr === "<f4" ? "float32" : null;
  if (!dtype)
    throw fail(`dtype ${descr} is not supported; embeddings must be little-endian float16 or float32`);
  if (shape.length !== 2) throw fail(`shape (${shape.join(", ")}) is not 2-D [rows, dim]`);
  return { dtype, rows: shape[0]!, dim: shape[1]!, dataOffset, bytesPerValue: dtype === "float16" ? 2 : 4 };
}

/** The header of a 2-D C-order array of embeddings (for generated datasets and tests). */
export function npyHeader(dtype: "float16" | "float32", rows: number, dim: number): Uint8Array {
  return encodeNpyHeader(dtype === "float16" ? "<f2" : "<f4", [rows, dim]);
}
