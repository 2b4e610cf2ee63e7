/**
 * Minimal .npy (format 1.0-3.0) reader and writer for little-endian float32 C-order arrays: the format the
 * exporter's parity files and the ORT runner exchange. Anything else is refused by name.
 */
import { readFile, writeFile } from "node:fs/promises";

export interface Float32Npy {
  dtype: "float32";
  shape: number[];
  data: Float32Array;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

export function parseNpy(bytes: Buffer, source = "npy"): Float32Npy {
  if (!bytes.subarray(0, 6).equals(MAGIC)) throw new Error(`${source}: not an .npy file`);
  const major = bytes[6]!;
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = bytes.subarray(headerStart, headerStart + headerLength).toString("latin1");
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr !== "<f4")
    throw new Error(`${source}: dtype ${descr}, only little-endian float32 (<f4) is supported`);
  if (fortran !== "False") throw new Error(`${source}: Fortran-ordered arrays are not supported`);
  if (shapeText === undefined) throw new Error(`${source}: no shape in header`);
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = headerStart + headerLength;
  if (bytes.length - offset !== count * 4) {
    throw new Error(
      `${source}: ${bytes.length - offset} data bytes for shape [${shape}] (need ${count * 4})`,
    );
  }
  // Copy into an aligned buffer: the data offset need not be a multiple of 4 within the file's buffer.
  const data = new Float32Array(count);
  Buffer.from(data.buffer).set(bytes.subarray(offset));
  return { dtype: "float32", shape, data };
}

export async function readNpy(path: string): Promise<Float32Npy> {
  return parseNpy(await readFile(path), path);
}

export function encodeNpy(array: Float32Npy): Buffer {
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(", ")})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad so the data starts on a 64-byte boundary, ending the header with a newline (as numpy does).
  const unpadded = 10 + header.length + 1;
  header += " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const prefix = Buffer.alloc(10);
  MAGIC.copy(prefix);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([
    prefix,
    Buffer.from(header, "latin1"),
    Buffer.from(array.data.buffer, array.data.byteOffset, array.data.byteLength),
  ]);
}

export async function writeNpy(path: string, array: Float32Npy): Promise<void> {
  await writeFile(path, encodeNpy(array));
}
