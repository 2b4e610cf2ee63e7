import { ApiError } from "../contracts/errors.ts";

/** What an NPY header says: numpy's `descr`, memory order, shape, and where the data starts. */
export interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** Bytes from the start of the file to the first data byte. */
  dataOffset: number;
}

export const NPY_MAGIC = Buffer.from("\x93NUMPY", "latin1");

/** numpy caps headers at 64 KiB for v1; anything much larger is not a real .npy. */
const MAX_HEADER_BYTES = 1 << 20;

/** Errors name the file when the caller knows it (`img_emb_3.npy: ...`), else speak of "This .npy". */
function problem(name: string | undefined, code: "invalid_file" | "truncated_file", text: string): ApiError {
  return new ApiError(code, name ? `${name}: ${text[0]!.toLowerCase()}${text.slice(1)}` : text);
}

function invalid(name: string | undefined, detail: string): ApiError {
  return problem(
    name,
    "invalid_file",
    `This .npy header is not valid: ${detail}. Save the array with np.save().`,
  );
}

function truncated(name: string | undefined): ApiError {
  return problem(name, "truncated_file", "The .npy file ends inside its header.");
}

/** Where the header dict starts and the data begins, from the file's first 12 bytes (10 for v1). */
function headerLayout(
  bytes: Uint8Array,
  name?: string,
): { major: number; dictStart: number; dataOffset: number } {
  if (bytes.length < 8) throw truncated(name);
  if (!NPY_MAGIC.equals(bytes.subarray(0, 6))) throw invalid(name, "it does not start with \\x93NUMPY");
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw invalid(name, `format version ${major} is not 1, 2 or 3`);
  const dictStart = major === 1 ? 10 : 12;
  if (bytes.length < dictStart) throw truncated(name);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (length > MAX_HEADER_BYTES) throw invalid(name, `the header claims ${length} bytes`);
  return { major, dictStart, dataOffset: dictStart + length };
}

/** Parses the NPY v1-v3 header at the start of `bytes` (which must hold all of it). */
export function parseNpyHeader(bytes: Uint8Array, name?: string): NpyHeader {
  const { major, dictStart, dataOffset } = headerLayout(bytes, name);
  if (bytes.length < dataOffset) throw truncated(name);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + dictStart, dataOffset - dictStart).toString(
    major === 3 ? "utf8" : "latin1",
  );
  return { ...parseHeaderDict(text, name), dataOffset };
}

/** Reads just the header from a stream positioned at the file's start. */
export async function readNpyHeader(
  reader: { read(count: number): Promise<Uint8Array> },
  name?: string,
): Promise<NpyHeader> {
  const start = await reader.read(12);
  const { dataOffset } = headerLayout(start, name);
  const rest = dataOffset > start.length ? await reader.read(dataOffset - start.length) : new Uint8Array(0);
  return parseNpyHeader(Buffer.concat([start, rest]), name);
}

/** The header dict, written by numpy as a Python literal. */
function parseHeaderDict(text: string, name: string | undefined): Omit<NpyHeader, "dataOffset"> {
  const descr = /['"]descr['"]\s*:\s*(['"])(.*?)\1/.exec(text)?.[2];
  if (descr === undefined) {
    if (/['"]descr['"]\s*:\s*\[/.test(text)) {
      throw new ApiError(
        "unsupported_format",
        `${name ? `${name} holds` : "This .npy holds"} a structured (record) array. Save a plain numeric array of betas instead.`,
      );
    }
    throw invalid(name, "it has no 'descr'");
  }
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text)?.[1];
  if (fortran === undefined) throw invalid(name, "it has no 'fortran_order'");
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (shapeText === undefined) throw invalid(name, "it has no 'shape'");
  const shape = shapeText
    .split(",")
    .map((part) => part.trim().replace(/L$/, ""))
    .filter((part) => part.length > 0)
    .map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw invalid(name, `shape is (${shapeText})`);
  return { descr, fortranOrder: fortran === "True", shape };
}

/**
 * Frames a header dict as NPY v1 does: magic, version, length, and the dict padded with spaces and a
 * newline so the data starts on a 64-byte boundary. Tests frame hostile dicts with it too.
 */
export function frameNpyHeader(dict: string): Buffer {
  const length = Math.ceil((10 + dict.length + 1) / 64) * 64 - 10;
  const preamble = Buffer.from([...NPY_MAGIC, 1, 0, length & 0xff, length >> 8]);
  return Buffer.concat([preamble, Buffer.from(`${dict.padEnd(length - 1, " ")}\n`, "latin1")]);
}

/** The header numpy writes for a C-order array of `descr` (e.g. `<f4`) and `shape`. */
export function encodeNpyHeader(descr: string, shape: readonly number[]): Buffer {
  const dims = `${shape.join(", ")}${shape.length === 1 ? "," : ""}`;
  return frameNpyHeader(`{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`);
}
