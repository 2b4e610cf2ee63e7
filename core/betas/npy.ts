import { ApiError } from "../contracts/errors.ts";
import { readNpyHeader } from "../npy/header.ts";
import {
  gridOf,
  type LayoutRequest,
  resolveLayout,
  storedArray,
  trialCount,
  voxelsPerTrial,
} from "./array-layout.ts";
import type { BetaFile, BetaFormat, BetaLimits } from "./beta-file.ts";
import { type ByteReader, bufferReader } from "./byte-reader.ts";
import { describeElementType, parseNumpyDescr } from "./element-type.ts";
import { iterateTrials } from "./read-trials.ts";
import { checkDeclaredSize, streamedAccess } from "./streamed-array.ts";

export interface NpySource {
  /** Opens the .npy bytes from the start (a file, a zip member, a request body). */
  open(): Promise<ByteReader>;
  /** Plain files: reads bytes from `position` straight into `target` (see StreamedArray.readAt). */
  readAt?(target: Uint8Array, position: number): Promise<number>;
  format: BetaFormat;
  dataset: string | null;
  compressed: boolean;
  close(): Promise<void>;
}

/** Reads an NPY header and describes the array; Fortran order is handled by strides, not by copying. */
export async function openNpy(
  source: NpySource,
  layout: LayoutRequest | undefined,
  limits: BetaLimits,
): Promise<BetaFile> {
  const reader = await source.open();
  const header = await readNpyHeader(reader).finally(() => reader.close());
  const type = parseNumpyDescr(header.descr);
  if (header.shape.length === 0 || header.shape.includes(0)) {
    throw new ApiError(
      "invalid_file",
      `The array has shape (${header.shape.join(", ")}): no betas. Send [trials, voxels] or [voxels].`,
    );
  }
  const resolved = resolveLayout(header.shape, layout, "array");
  const storage = storedArray(header.shape, resolved.roles, header.fortranOrder);
  checkDeclaredSize(header.shape, type.bytes, limits);

  const array = {
    type,
    storage,
    scaling: null,
    open: async () => {
      const data = await source.open();
      if ((await data.skip(header.dataOffset)) < header.dataOffset) {
        data.close();
        throw new ApiError("truncated_file", "The .npy file ends inside its header.");
      }
      return data;
    },
    ...(source.readAt && {
      readAt: (target: Uint8Array, position: number) => source.readAt!(target, header.dataOffset + position),
    }),
  };
  return {
    format: source.format,
    dtype: describeElementType(type),
    shape: header.shape,
    layout: resolved.name,
    trials: trialCount(storage),
    grid: gridOf(storage),
    voxelsPerTrial: voxelsPerTrial(storage),
    scaling: null,
    dataset: source.dataset,
    compressed: source.compressed,
    storage,
    ...streamedAccess(array, limits),
    close: () => source.close(),
  };
}

/** Decodes an `application/x-npy` body of any numeric dtype, byte order or memory order into C-order float32. */
export async function decodeNpyBody(
  body: Uint8Array,
  options: { maxDecodedBytes: number },
): Promise<{ data: Float32Array; shape: number[] }> {
  const file = await openNpy(
    {
      open: async () => bufferReader(body),
      format: "npy",
      dataset: null,
      compressed: false,
      close: async () => {},
    },
    undefined,
    options,
  );
  const data = new Float32Array(file.trials * file.voxelsPerTrial);
  let at = 0;
  // Default layouts make trials the leading axis, so rows in turn are the array in C order.
  for await (const row of iterateTrials(file)) {
    data.set(row, at);
    at += row.length;
  }
  return { data, shape: file.shape };
}
