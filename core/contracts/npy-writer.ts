/**
 * Writes .npy version 1.0 bytes (little-endian, C order): what labs load with `numpy.load`.
 * The header is padded so the data starts on a 64-byte boundary, as numpy itself writes it.
 */
export function encodeNpy(
  data: Float32Array | Uint8Array,
  shape: readonly number[],
): Uint8Array<ArrayBuffer> {
  const descr = data instanceof Float32Array ? "<f4" : "|u1";
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = 10 + header.length + 1;
  header += " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  // Float32Array bytes are platform order; every platform Node runs on here is little-endian.
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}
