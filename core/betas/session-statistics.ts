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

export function sessionStatistics(data: Float32Array, trials: number, voxels: number): SessionStatistics {
  const mean = new Float64Array(voxels);
  const std = new Float64Array(voxels);
  for (let t = 0; t < trials; t++) for (let v = 0; v < voxels; v++) mean[v]! += data[t * voxels + v]!;
  for (let v = 0; v < voxels; v++) mean[v]! /= trials;
  for (let t = 0; t < trials; t++) {
    for (let v = 0; v < voxels; v++) {
      const d = data[t * voxels + v]! - mean[v]!;
      std[v]! += d * d;
    }
  }
  let zeroVarianceVoxels = 0;
  for (let v = 0; v < voxels; v++) {
    std[v] = Math.sqrt(std[v]! / trials);
    if (std[v] === 0) {
      std[v] = 1;
      zeroVarianceVoxels++;
    }
  }
  return { mean, std, trials, zeroVarianceVoxels };
}
