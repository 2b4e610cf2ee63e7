import type { BetaFile } from "./beta-file.ts";

export interface BetaSummary {
  /** Over finite values; null when there are none. */
  sum: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  nan_count: number;
  infinite_count: number;
  /** The first three and the last value in file order (NIfTI: x fastest); null stands for NaN. */
  first: (number | null)[];
  last: number | null;
}

const orNull = (value: number) => (Number.isNaN(value) ? null : value);

/** Statistics of every value in the file (scaling applied), accumulated in float64 while streaming. */
export async function summarizeBetas(file: BetaFile): Promise<BetaSummary> {
  let sum = 0;
  let finite = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let nan = 0;
  let infinite = 0;
  const first: number[] = [];
  let last = Number.NaN;
  for await (const block of file.blocks()) {
    const { values } = block;
    for (let i = 0; i < values.length && first.length < 3; i++) first.push(values[i]!);
    if (values.length) last = values[values.length - 1]!;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (Number.isFinite(v)) {
        sum += v;
        finite++;
        if (v < min) min = v;
        if (v > max) max = v;
      } else if (Number.isNaN(v)) nan++;
      else infinite++;
    }
  }
  return {
    sum,
    mean: finite ? sum / finite : null,
    min: finite ? min : null,
    max: finite ? max : null,
    nan_count: nan,
    infinite_count: infinite,
    first: first.map(orNull),
    last: orNull(last),
  };
}
