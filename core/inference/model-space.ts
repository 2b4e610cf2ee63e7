import type { InputSpace } from "../betas/index.ts";
import type { InferenceService } from "./inference.ts";

/** What a model takes, in the betas readers' terms: voxel count, and for volumes the grid and mask. */
export async function modelInputSpace(inference: InferenceService, modelId: string): Promise<InputSpace> {
  const model = await inference.getModel(modelId);
  const mask = model.input.grid ? await inference.getMask(modelId) : null;
  return {
    voxels: model.input.voxels,
    ...(model.input.grid ? { grid: model.input.grid } : {}),
    ...(mask ? { mask } : {}),
  };
}
