import { writeFile } from "node:fs/promises";
import { encodeNpyHeader } from "./header.ts";
import type { Float32Npy } from "./read.ts";

/** An NPY v1 file (`<f4` or `|u1`, C order) as np.load reads it; also the `application/x-npy` body. */
export function encodeNpy(
  data: Float32Array | Uint8Array,
  shape: readonly number[],
): Uint8Array<ArrayBuffer> {
  const header = encodeNpyHeader(data instanceof Float32Array ? "<f4" : "|u1", shape);
  const body = Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
  return new Uint8Array(body.buffer, body.byteOffset, body.byteLength) as Uint8Array<ArrayBuffer>;
}

export async function writeNpy(path: string, array: Pick<Float32Npy, "shape" | "data">): Promise<void> {
  await writeFile(path, encodeNpy(array.data, array.shape));
}
