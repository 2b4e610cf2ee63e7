import type { ModelDescription } from "../../core/inference/inference.ts";

/** A model as labs see it; `origin` makes the mask URL absolute. */
export function presentModel(model: ModelDescription, origin: string) {
  return {
    id: model.id,
    family: model.family,
    subject: model.subject,
    version: model.version,
    input: {
      voxels: model.input.voxels,
      grid: model.input.grid,
      mask_url: model.input.grid ? `${origin}/v1/models/${encodeURIComponent(model.id)}/mask` : null,
      training: model.input.training ?? null,
    },
    outputs: model.outputs,
    capabilities: model.capabilities,
    ...(model.reconstruction_defaults && { reconstruction_defaults: model.reconstruction_defaults }),
    // Uploads hold whole sessions, so their own statistics z-score them; a few inline trials cannot.
    preprocessing_defaults: {
      scale: "auto" as const,
      zscore: { upload: "session" as const, inline: "none" as const },
    },
    hashes: model.hashes,
  };
}
