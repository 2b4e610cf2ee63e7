/** Opens the seven graphs a MindEye1 reconstruction runs, each as its own ORT session. */
import type { GraphName } from "../../core/contracts/bundle-manifest.ts";
import { ApiError } from "../../core/contracts/errors.ts";
import type { LoadedBundle } from "../bundles/load-bundle.ts";
import type { ExecutionProvider } from "../runtime/ort-session.ts";
import { GraphSession } from "./graph-session.ts";

export const RECONSTRUCTION_GRAPHS = [
  "voxel2clip",
  "prior",
  "lowlevel",
  "vae_decoder",
  "vae_encoder",
  "unet",
  "clip_image",
] as const satisfies readonly GraphName[];

export type ReconstructionGraphs = Record<(typeof RECONSTRUCTION_GRAPHS)[number], GraphSession>;

export async function openReconstructionGraphs(
  bundle: LoadedBundle,
  options: { providers: ExecutionProvider[]; intraOpThreads?: number },
): Promise<ReconstructionGraphs> {
  const missing = RECONSTRUCTION_GRAPHS.filter((name) => !bundle.graphs[name]);
  if (missing.length > 0) {
    throw new ApiError(
      "invalid_bundle",
      `bundle ${bundle.manifest.id} cannot reconstruct: it has no ${missing.join(", ")} graph`,
    );
  }
  const opened: Partial<ReconstructionGraphs> = {};
  try {
    for (const name of RECONSTRUCTION_GRAPHS) {
      opened[name] = await GraphSession.open(name, bundle.graphs[name]!.path, options);
    }
  } catch (error) {
    await releaseGraphs(opened);
    throw error;
  }
  return opened as ReconstructionGraphs;
}

export async function releaseGraphs(graphs: Partial<ReconstructionGraphs>): Promise<void> {
  for (const session of Object.values(graphs)) await session?.release();
}
