import { readFile } from "node:fs/promises";
import { ApiError } from "../contracts/errors.ts";
import { parseNpyHeader } from "./header.ts";

/** A little-endian float32 C-order array: what parity files and the ORT runner exchange. */
export interface Float32Npy {
  dtype: "float32";
  shape: number[];
  data: Float32Array;
}

/** A whole .npy of little-endian float32 in C order; anything else is refused by name (no silent conversion). */
export function parseNpy(bytes: Uint8Array, source = "npy"): Float32Npy {
  const { descr, fortranOrder, shape, dataOffset } = parseNpyHeader(bytes, source);
  const fail = (detail: string) => new ApiError("invalid_file", `${source}: ${detail}`);
  if (descr !== "<f4") throw fail(`dtype ${descr}, only little-endian float32 (<f4) is supported`);
  if (fortranOrder) throw fail("Fortran-ordered arrays are not supported");
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length - dataOffset !== count * 4) {
    throw fail(`${bytes.length - dataOffset} data bytes for shape [${shape}] (need ${count * 4})`);
  }
  // Copy into an aligned buffer: the data offset need not be a multiple of 4 within the file's buffer.
  const data = new Float32Array(count);
  new Uint8Array(data.buffer).set(bytes.subarray(dataOffset));
  return { dtype: "float32", shape, data };
}

export async function readNpy(path: string): Promise<Float32Npy> {
  return parseNpy(await readFile(path), path);
}
