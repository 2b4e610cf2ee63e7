/**
 * Betas saved the way NSD saves them (docs fmri-formats §1.2): int16 PSC x 300 with no header scaling.
 * - NIfTI-1 .nii.gz, 4-D X x Y x Z x trials, scl_slope 0 and scl_inter 0 (as NSD's make_nii writes them:
 *   readers must not scale), qform/sform codes 0, 1.8 mm voxels, TR 1.333 s;
 * - HDF5 with dataset /betas [trials, Z, Y, X] (h5py's view of NSD's MATLAB X x Y x Z x trials), one chunk per
 *   voxel holding all its trials, uncompressed.
 * Both take the volumes as int16 [trials, Z, Y, X] (x fastest), which is both files' element order.
 */
import { writeFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import h5wasm from "h5wasm/node";

const HEADER_BYTES = 348;
/** Header, then the 4-byte extension flag (all zero: no extensions), then the data. */
const VOX_OFFSET = 352;
const NIFTI_INT16 = 4;
/** xyzt_units: millimetres (2) and seconds (8). */
const MM_AND_SECONDS = 2 | 8;

export function niftiInt16(volumes: Int16Array, grid: [number, number, number]): Buffer {
  const [x, y, z] = grid;
  const trials = volumes.length / (x * y * z);
  const header = Buffer.alloc(VOX_OFFSET);
  header.writeInt32LE(HEADER_BYTES, 0);
  const dims = [4, x, y, z, trials, 1, 1, 1];
  for (const [i, d] of dims.entries()) header.writeInt16LE(d, 40 + 2 * i);
  header.writeInt16LE(NIFTI_INT16, 70);
  header.writeInt16LE(16, 72);
  const pixdim = [1, 1.8, 1.8, 1.8, 1.333, 0, 0, 0];
  for (const [i, p] of pixdim.entries()) header.writeFloatLE(p, 76 + 4 * i);
  header.writeFloatLE(VOX_OFFSET, 108);
  header.writeFloatLE(0, 112); // scl_slope 0: no scaling, values are PSC x 300
  header.writeFloatLE(0, 116); // scl_inter
  header.writeUInt8(MM_AND_SECONDS, 123);
  header.write("sim01 betas: percent signal change x 300", 148, 80, "latin1");
  header.writeInt16LE(0, 252); // qform_code
  header.writeInt16LE(0, 254); // sform_code
  header.write("n+1\0", 344, 4, "latin1");
  const data = Buffer.from(volumes.buffer, volumes.byteOffset, volumes.byteLength);
  // Node's gzip writes mtime 0, so the same volumes always give the same bytes.
  return gzipSync(Buffer.concat([header, data]), { level: 6 });
}

export async function writeNiftiInt16(path: string, volumes: Int16Array, grid: [number, number, number]) {
  await writeFile(path, niftiInt16(volumes, grid));
}

/**
 * HDF5 stamps object times into the file, so two writes of the same volumes differ in a few header bytes
 * (h5wasm does not expose H5Pset_obj_track_times); the dataset itself is identical.
 */
export async function writeNsdHdf5(path: string, volumes: Int16Array, grid: [number, number, number]) {
  await h5wasm.ready;
  const [x, y, z] = grid;
  const trials = volumes.length / (x * y * z);
  const file = new h5wasm.File(path, "w");
  try {
    file.create_dataset({
      name: "betas",
      data: volumes,
      shape: [trials, z, y, x],
      dtype: "<h",
      chunks: [trials, 1, 1, 1],
    });
  } finally {
    file.close();
  }
}
