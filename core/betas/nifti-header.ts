import { ApiError } from "../contracts/errors.ts";
import type { ElementType, Scaling } from "./element-type.ts";

/** The fields of a NIfTI-1 or NIfTI-2 header this service needs. */
export interface NiftiHeader {
  version: 1 | 2;
  headerBytes: 348 | 540;
  shape: number[];
  type: ElementType;
  voxOffset: number;
  /** The file's scaling, only when the NIfTI rule says to apply it (slope finite and non-zero). */
  scaling: Scaling | null;
  intentCode: number;
}

/** NIfTI datatype codes -> element kind and size. */
const DATATYPES: Record<number, { kind: ElementType["kind"]; bytes: ElementType["bytes"] }> = {
  2: { kind: "u", bytes: 1 },
  4: { kind: "i", bytes: 2 },
  8: { kind: "i", bytes: 4 },
  16: { kind: "f", bytes: 4 },
  64: { kind: "f", bytes: 8 },
  256: { kind: "i", bytes: 1 },
  512: { kind: "u", bytes: 2 },
  768: { kind: "u", bytes: 4 },
  1024: { kind: "i", bytes: 8 },
  1280: { kind: "u", bytes: 8 },
};

/** Header size if these bytes start a NIfTI-1 or NIfTI-2 header (either byte order), else null. */
export function niftiHeaderSize(head: Uint8Array): 348 | 540 | null {
  if (head.length < 4) return null;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  for (const little of [true, false]) {
    const size = view.getInt32(0, little);
    if (size === 348 || size === 540) return size;
  }
  return null;
}

function invalid(detail: string): ApiError {
  return new ApiError(
    "invalid_file",
    `This NIfTI header is not valid: ${detail}. Re-save the file with nibabel or FSL.`,
  );
}

export function parseNiftiHeader(head: Uint8Array): NiftiHeader {
  const headerBytes = niftiHeaderSize(head);
  if (!headerBytes) throw invalid("sizeof_hdr is neither 348 nor 540");
  if (head.length < headerBytes) {
    throw new ApiError(
      "truncated_file",
      `The file ends inside its ${headerBytes}-byte NIfTI header. Upload the complete file.`,
    );
  }
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const little = view.getInt32(0, true) === headerBytes;
  const v2 = headerBytes === 540;
  const magic = Buffer.from(head.subarray(v2 ? 4 : 344, v2 ? 8 : 348)).toString("latin1");
  if (magic === "ni1\0" || magic === "ni2\0") {
    throw new ApiError(
      "unsupported_format",
      "This is the header of a .hdr/.img pair. Send a single-file NIfTI (.nii or .nii.gz), e.g. nibabel.save(img, 'betas.nii.gz').",
    );
  }
  if (magic !== (v2 ? "n+2\0" : "n+1\0"))
    throw invalid(`magic is ${JSON.stringify(magic)}, not "n+${v2 ? 2 : 1}"`);

  const dimAt = (i: number) =>
    v2 ? Number(view.getBigInt64(16 + 8 * i, little)) : view.getInt16(40 + 2 * i, little);
  const ndim = dimAt(0);
  if (!(ndim >= 1 && ndim <= 7)) throw invalid(`dim[0] is ${ndim}, not 1-7`);
  const shape = Array.from({ length: ndim }, (_, i) => dimAt(i + 1));
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 1)) throw invalid(`dims are (${shape.join(", ")})`);

  const datatype = view.getInt16(v2 ? 12 : 70, little);
  const bitpix = view.getInt16(v2 ? 14 : 72, little);
  const known = DATATYPES[datatype];
  if (!known) {
    throw new ApiError(
      "unsupported_format",
      `NIfTI datatype ${datatype} (complex, RGB or 128-bit) is not supported. Save the betas as float32 or int16.`,
    );
  }
  if (bitpix !== known.bytes * 8) throw invalid(`bitpix ${bitpix} does not match datatype ${datatype}`);

  const voxOffset = v2 ? Number(view.getBigInt64(168, little)) : view.getFloat32(108, little);
  if (!Number.isSafeInteger(voxOffset) || voxOffset < headerBytes) {
    throw invalid(`vox_offset ${voxOffset} is not a whole number of bytes past the header`);
  }
  const slope = v2 ? view.getFloat64(176, little) : view.getFloat32(112, little);
  const inter = v2 ? view.getFloat64(184, little) : view.getFloat32(116, little);
  // The NIfTI rule (and nibabel): a zero or non-finite slope means the stored values are used as they are.
  const scaling =
    slope !== 0 && Number.isFinite(slope) ? { slope, inter: Number.isFinite(inter) ? inter : 0 } : null;
  const intentCode = v2 ? view.getInt32(504, little) : view.getInt16(68, little);

  return {
    version: v2 ? 2 : 1,
    headerBytes,
    shape,
    type: { ...known, littleEndian: little },
    voxOffset,
    scaling,
    intentCode,
  };
}
