/**
 * Per-voxel mean and population std over a session's trials (ddof 0, as sklearn's StandardScaler), in the
 * file's stored units: dividing by a scale changes mean and std alike, so z-scores do not depend on it.
 */
export interface SessionStatistics {
  mean: Float64Array;
  std: Float64Array;
  /** Trials the statistics were computed over. */
  trials: number;
  /** Voxels constant over the session: their std is kept as 1 (they become 0 after centring). */
  zeroVarianceVoxels: number;
}

function square(x: number): number {
  return x * x;
}

/**
 * Eight rows per sweep over the voxels: each voxel still adds its trials one by one in trial order (the
 * same float64 sums as a row at a time), but loads and stores its sum once per eight trials, not once
 * per trial (2.5x faster on a [250, 15724] matrix).
 */
export function sessionStatistics(data: Float32Array, trials: number, voxels: number): SessionStatistics {
  const w = voxels;
  const mean = new Float64Array(voxels);
  const std = new Float64Array(voxels);
  let t = 0;
  for (; t + 8 <= trials; t += 8) {
    for (let v = 0, i = t * w; v < w; v++, i++) {
      mean[v] =
        mean[v]! +
        data[i]! +
        data[i + w]! +
        data[i + 2 * w]! +
        data[i + 3 * w]! +
        data[i + 4 * w]! +
        data[i + 5 * w]! +
        data[i + 6 * w]! +
        data[i + 7 * w]!;
    }
  }
  for (; t < trials; t++) for (let v = 0, i = t * w; v < w; v++, i++) mean[v]! += data[i]!;
  for (let v = 0; v < w; v++) mean[v]! /= trials;

  for (t = 0; t + 8 <= trials; t += 8) {
    for (let v = 0, i = t * w; v < w; v++, i++) {
      const m = mean[v]!;
      std[v] =
        std[v]! +
        square(data[i]! - m) +
        square(data[i + w]! - m) +
        square(data[i + 2 * w]! - m) +
        square(data[i + 3 * w]! - m) +
        square(data[i + 4 * w]! - m) +
        square(data[i + 5 * w]! - m) +
        square(data[i + 6 * w]! - m) +
        square(data[i + 7 * w]! - m);
    }
  }
  for (; t < trials; t++) for (let v = 0, i = t * w; v < w; v++, i++) std[v]! += square(data[i]! - mean[v]!);

  let zeroVarianceVoxels = 0;
  for (let v = 0; v < w; v++) {
    std[v] = Math.sqrt(std[v]! / trials);
    if (std[v] === 0) {
      std[v] = 1;
      zeroVarianceVoxels++;
    }
  }
  return { mean, std, trials, zeroVarianceVoxels };
}
