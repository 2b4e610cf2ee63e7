import { encodeNpyHeader } from "./header.ts";

/** An NPY v1 file (`<f4` or `|u1`, C order) as np.load reads it; also the `application/x-npy` body. */
export function encodeNpy(
  data: Float32Array | Uint8Array,
  shape: readonly number[],
): Uint8Array<ArrayBuffer> {
  const header = encodeNpyHeader(data instanceof Float32Array ? "<f4" : "|u1", shape);
  const out = new Uint8Array(header.byteLength + data.byteLength);
  out.set(header);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), header.byteLength);
  return out;
}
