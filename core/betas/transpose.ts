/**
 * [rows, columns] to [columns, rows]. Eight rows at a time, unrolled: eight sequential read streams and
 * one 32-byte write per column: 2-3x faster in V8 than 64x64 tiles on a 15724x250 matrix.
 */
export function transpose(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length);
  const c = columns;
  let r0 = 0;
  for (; r0 + 8 <= rows; r0 += 8) {
    const base = r0 * c;
    for (let j = 0; j < c; j++) {
      const o = j * rows + r0;
      const s = base + j;
      out[o] = values[s]!;
      out[o + 1] = values[s + c]!;
      out[o + 2] = values[s + 2 * c]!;
      out[o + 3] = values[s + 3 * c]!;
      out[o + 4] = values[s + 4 * c]!;
      out[o + 5] = values[s + 5 * c]!;
      out[o + 6] = values[s + 6 * c]!;
      out[o + 7] = values[s + 7 * c]!;
    }
  }
  for (; r0 < rows; r0++) for (let j = 0; j < c; j++) out[j * rows + r0] = values[r0 * c + j]!;
  return out;
}
