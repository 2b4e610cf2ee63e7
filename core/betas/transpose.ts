/** Side of the square tiles a transpose works in (64 x 64 float32 = 16 KiB, cache-resident). */
const TILE = 64;

/** [rows, columns] to [columns, rows], in cache-sized tiles. */
export function transpose(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < columns; c0 += TILE) {
      const c1 = Math.min(columns, c0 + TILE);
      for (let c = c0; c < c1; c++) {
        const row = c * rows;
        for (let r = r0; r < r1; r++) out[row + r] = values[r * columns + c]!;
      }
    }
  }
  return out;
}
