/**
 * sim01's held-out test images as the service would reconstruct them: each held-out session's ROI voxels
 * prepared as uploads are (÷300, z-scored over the session) and the image's repeats averaged.
 */
import { repeatGroups } from "../design.ts";
import { preparedVoxels } from "../voxel-matrix.ts";
import type { World } from "../world.ts";

export interface HeldOutTrial {
  stimulus: number;
  voxels: Float32Array;
}

export function heldOutTrials(world: World): HeldOutTrial[] {
  const trials: HeldOutTrial[] = [];
  for (const [i, session] of world.design.sessions.entries()) {
    if (!session.heldOut) continue;
    const groups = repeatGroups(session.stimuli);
    const prepared = preparedVoxels(world.sessionBetas[i]!, world.subject.roiFileOffsets, {
      average: groups.map((g) => g.trials),
    });
    const voxels = prepared.shape[1];
    for (const [g, group] of groups.entries()) {
      trials.push({
        stimulus: group.stimulus as number,
        voxels: prepared.data.slice(g * voxels, (g + 1) * voxels),
      });
    }
  }
  return trials;
}
