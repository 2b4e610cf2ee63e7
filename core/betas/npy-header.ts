import { ApiError } from "../contracts/errors.ts";
import type { ByteReader } from "./byte-reader.ts";

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

function invalid(detail: string): ApiError {
  return new ApiError(
    "invalid_file",
    `This .npy header is not valid: ${detail}. Save the array with np.save().`,
  );
}

/** Reads the NPY v1-v3 preamble and header dict (written by numpy as a Python literal). */
export async function readNpyHeader(reader: ByteReader): Promise<NpyHeader> {
  const preamble = await reader.read(8);
  if (preamble.length < 8) throw new ApiError("truncated_file", "The .npy file ends inside its header.");
  if (!preamble.subarray(0, 6).equals(NPY_MAGIC)) throw invalid("it does not start with \\x93NUMPY");
  const major = preamble[6]!;
  if (major < 1 || major > 3) throw invalid(`format version ${major} is not 1, 2 or 3`);
  const lengthBytes = await reader.read(major === 1 ? 2 : 4);
  if (lengthBytes.length < (major === 1 ? 2 : 4))
    throw new ApiError("truncated_file", "The .npy file ends inside its header.");
  const length = major === 1 ? lengthBytes.readUInt16LE(0) : lengthBytes.readUInt32LE(0);
  if (length > MAX_HEADER_BYTES) throw invalid(`the header claims ${length} bytes`);
  const text = await reader.read(length);
  if (text.length < length) throw new ApiError("truncated_file", "The .npy file ends inside its header.");
  return {
    ...parseHeaderDict(text.toString(major === 3 ? "utf8" : "latin1")),
    dataOffset: 8 + lengthBytes.length + length,
  };
}

function parseHeaderDict(text: string): Omit<NpyHeader, "dataOffset"> {
  const descr = /['"]descr['"]\s*:\s*(['"])(.*?)\1/.exec(text)?.[2];
  if (descr === undefined) {
    if (/['"]descr['"]\s*:\s*\[/.test(text)) {
      throw new ApiError(
        "unsupported_format",
        "This .npy holds a structured (record) array. Save a plain numeric array of betas instead.",
      );
    }
    throw invalid("it has no 'descr'");
  }
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text)?.[1];
  if (fortran === undefined) throw invalid("it has no 'fortran_order'");
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (shapeText === undefined) throw invalid("it has no 'shape'");
  const shape = shapeText
    .split(",")
    .map((part) => part.trim().replace(/L$/, ""))
    .filter((part) => part.length > 0)
    .map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw invalid(`shape is (${shapeText})`);
  return { descr, fortranOrder: fortran === "True", shape };
}
