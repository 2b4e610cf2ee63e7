/**
 * sim01's test images as the service would reconstruct them: every session's ROI voxels prepared as uploads
 * are (÷300, z-scored over the session), and each test image's repeats (in different sessions) averaged.
 */
import { preparedVoxels } from "../voxel-matrix.ts";
import type { World } from "../world.ts";

export interface HeldOutTrial {
  stimulus: number;
  voxels: Float32Array;
}

export function heldOutTrials(world: World): HeldOutTrial[] {
  const voxels = world.subject.roiFileOffsets.length;
  const sums = new Map<number, { sum: Float32Array; count: number }>(
    world.design.testStimuli.map((s) => [s, { sum: new Float32Array(voxels), count: 0 }]),
  );
  for (const [i, session] of world.design.sessions.entries()) {
    const prepared = preparedVoxels(world.sessionBetas[i]!, world.subject.roiFileOffsets).data;
    for (const [t, stimulus] of session.stimuli.entries()) {
      const entry = sums.get(stimulus);
      if (!entry) continue;
      for (let v = 0; v < voxels; v++) entry.sum[v]! += prepared[t * voxels + v]!;
      entry.count++;
    }
  }
  return [...sums].map(([stimulus, { sum, count }]) => ({ stimulus, voxels: sum.map((v) => v / count) }));
}
