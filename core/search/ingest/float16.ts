// Every half-precision bit pattern decoded once (256 KiB), so a million 768-d rows convert by table lookup.
const HALF_TO_FLOAT = (() => {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    if (exponent === 0) table[h] = sign * 2 ** -14 * (fraction / 1024);
    else if (exponent === 31) table[h] = fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    else table[h] = sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
  }
  return table;
})();

/** Little-endian float16 values as float32. */
export function float16ToFloat32(bytes: Uint8Array): Float32Array {
  const count = bytes.length >> 1;
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) out[i] = HALF_TO_FLOAT[view.getUint16(i * 2, true)]!;
  return out;
}

/** Float32 values rounded to the nearest float16 (ties away from zero), little-endian; for generated datasets. */
export function float32ToFloat16(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) {
    const x = bits[i]!;
    const sign = (x >>> 16) & 0x8000;
    const exponent = ((x >>> 23) & 0xff) - 112; // rebias 127 -> 15
    const magnitude = Math.abs(values[i]!);
    let half: number;
    if (Number.isNaN(magnitude)) half = 0x7e00;
    else if (exponent <= 0)
      half = sign | Math.round(magnitude / 2 ** -24); // subnormal steps of 2^-24
    else if (exponent >= 31) half = sign | 0x7c00;
    else half = sign | Math.min(0x7c00, ((exponent << 10) | ((x & 0x7fffff) >> 13)) + ((x >> 12) & 1));
    view.setUint16(i * 2, half, true);
  }
  return out;
}
