import { open } from "node:fs/promises";
import { ApiError } from "../contracts/errors.ts";
import { NPY_MAGIC } from "../npy/header.ts";
import { openFileReader } from "./byte-reader.ts";
import { niftiHeaderSize } from "./nifti-header.ts";

export type SniffedFormat = "nifti" | "nifti-gz" | "npy" | "npz" | "hdf5" | "json" | "unknown";

const HDF5_MAGIC = Buffer.from("\x89HDF\r\n\x1a\n", "latin1");
const SEND_INSTEAD =
  "Send single-trial betas as NIfTI (.nii/.nii.gz) in the subject's func1pt8mm space, or masked [trials, voxels] " +
  "as .npy, .npz, HDF5 or raw float32.";

function refuse(what: string, advice = SEND_INSTEAD): never {
  throw new ApiError("unsupported_format", `${what} ${advice}`);
}

async function readHead(path: string, count: number): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.alloc(count);
    const { bytesRead } = await handle.read(buffer, 0, count, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Refuses formats we know but do not take, by name, with what to send instead. */
function refuseKnownByName(filename: string): void {
  const name = filename.toLowerCase();
  if (/\.(dtseries|dscalar|dconn|dlabel|ptseries|pscalar)\.nii$/.test(name)) {
    refuse("CIFTI files hold surface grayordinates, but MindEye reads volumes.");
  }
  if (name.endsWith(".gii")) refuse("GIFTI files hold surface data, but MindEye reads volumes.");
  if (/\.(mgh|mgz)$/.test(name)) refuse("FreeSurfer MGH files hold surface data, but MindEye reads volumes.");
}

/** Identifies a file by its first bytes (extensions only name the formats we refuse). */
export async function sniffFormat(path: string, filename: string, maxBytes: number): Promise<SniffedFormat> {
  refuseKnownByName(filename);
  const head = await readHead(path, 2048);
  if (head.length === 0) throw new ApiError("invalid_file", "The file is empty. Upload it again.");
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const reader = openFileReader(path, { gzip: true, maxBytes });
    const inner = await reader.read(544).finally(() => reader.close());
    if (niftiHeaderSize(inner)) return "nifti-gz";
    if (inner.subarray(0, 6).equals(NPY_MAGIC))
      refuse("A gzipped .npy is not accepted.", "Send it as .npz (np.savez_compressed) or plain .npy.");
    refuse("This gzip file does not contain a NIfTI volume.");
  }
  if (niftiHeaderSize(head)) return "nifti";
  if (head.subarray(0, 6).equals(NPY_MAGIC)) return "npy";
  if (head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5)) return "npz";
  for (const offset of [0, 512, 1024])
    if (head.subarray(offset, offset + 8).equals(HDF5_MAGIC)) return "hdf5";
  const text = head.toString("latin1");
  if (text.startsWith("MATLAB 5.0 MAT-file")) {
    refuse(
      "This is a MATLAB v5 .mat file.",
      "Save it as HDF5 with save('betas.mat', 'modelmd', '-v7.3'), or send NIfTI.",
    );
  }
  if (/^\s*<\?xml/.test(text) || text.includes("<GIFTI"))
    refuse("GIFTI (XML surface data) is not accepted: MindEye reads volumes.");
  if (text.startsWith("CDF\x01") || text.startsWith("CDF\x02"))
    refuse("MINC1 (netCDF) is not accepted.", "Convert it to NIfTI (mnc2nii).");
  if (head.subarray(128, 132).toString("latin1") === "DICM") refuse("DICOM images are raw scans, not betas.");
  if (/^\s*[[{]/.test(text)) return "json";
  return "unknown";
}
