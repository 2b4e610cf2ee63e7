/**
 * MindEye1's selection (reference §1.2 rows 20–22): each candidate's CLIP tokens flattened and
 * L2-normalised, compared by cosine with the flattened, L2-normalised projector output; the highest wins,
 * the first on ties, and a NaN similarity never wins (numpy `nanargmax`).
 */
export function bestOfN(
  candidates: Float32Array,
  count: number,
  reference: Float32Array,
): { best: number; similarities: number[] } {
  const size = reference.length;
  if (candidates.length !== count * size) {
    throw new Error(`CLIP gave ${candidates.length} values for ${count} candidates of ${size}`);
  }
  let referenceSquares = 0;
  for (let i = 0; i < size; i++) referenceSquares += reference[i]! ** 2;
  const referenceNorm = Math.sqrt(referenceSquares);
  const similarities: number[] = [];
  for (let c = 0; c < count; c++) {
    let dot = 0;
    let squares = 0;
    for (let i = 0; i < size; i++) {
      const v = candidates[c * size + i]!;
      dot += v * reference[i]!;
      squares += v * v;
    }
    similarities.push(dot / (Math.sqrt(squares) * referenceNorm));
  }
  let best = -1;
  for (let c = 0; c < count; c++) {
    if (Number.isNaN(similarities[c]!)) continue;
    if (best < 0 || similarities[c]! > similarities[best]!) best = c;
  }
  return { best: Math.max(best, 0), similarities };
}
