/**
 * sim01's test images as the service reconstructs them, read from the generated files a lab holds: every
 * session's NIfTI masked by the bundle's mask.npy, ÷300 and z-scored over the session (core/betas, as
 * uploads are prepared), and each test image's repeats (in different sessions) averaged; with the seen
 * image and its stand-in CLIP embedding (stimuli/). Test images in stimulus order.
 */
import { join } from "node:path";
import sharp from "sharp";
import {
  extractMaskedVoxels,
  iterateTrials,
  openBetaFile,
  preprocessBetas,
} from "../../../core/betas/index.ts";
import { loadBundle } from "../../bundles/load-bundle.ts";
import { imageTensor } from "../encoder.ts";
import type { Sim01 } from "../ensure-sim01.ts";
import { EMBEDDING_VALUES } from "../sim01-spec.ts";
import { readStimulusFiles } from "../stimulus-files.ts";

export interface HeldOutTrial {
  stimulus_id: string;
  /** The repeats' prepared voxels, averaged: the model's input. */
  voxels: Float32Array;
  /** The seen image, [3, 64, 64] in [0, 1]. */
  image: Float32Array;
  /** Its stand-in CLIP embedding, [17 × 32]. */
  embedding: Float32Array;
}

type Sim01Files = Pick<Sim01, "bundleDir" | "sessionsDir" | "stimuliDir" | "truth">;

/** The model's mask over the grid, as the bundle ships it. */
async function bundleSpace(bundleDir: string) {
  const { manifest } = await loadBundle(bundleDir);
  const file = await openBetaFile(join(bundleDir, manifest.input.mask!.file));
  let mask: Float32Array | undefined;
  for await (const volume of iterateTrials(file)) mask = volume;
  await file.close();
  return { voxels: manifest.input.voxels, grid: manifest.input.grid!, mask: mask! };
}

/** The first `count` test images (all 300 by default). */
export async function heldOutTrials(
  sim: Sim01Files,
  count = Number.POSITIVE_INFINITY,
): Promise<HeldOutTrial[]> {
  const { records, embeddings } = await readStimulusFiles(sim.stimuliDir);
  const test = records
    .flatMap((r, s) => (r.split === "test" ? [{ id: r.stimulus_id, s }] : []))
    .slice(0, count);
  const space = await bundleSpace(sim.bundleDir);
  const sums = new Map(test.map((t) => [t.id, { sum: new Float32Array(space.voxels), count: 0 }]));
  for (const session of sim.truth.sessions) {
    const file = await openBetaFile(join(sim.sessionsDir, session.file));
    const prepared = preprocessBetas(
      await extractMaskedVoxels(file, space),
      { scale: "auto", zscore: "session" },
      file,
    ).data;
    await file.close();
    for (const [t, id] of session.stimulus.entries()) {
      const entry = sums.get(id);
      if (!entry) continue;
      for (let v = 0; v < space.voxels; v++) entry.sum[v]! += prepared[t * space.voxels + v]!;
      entry.count++;
    }
  }
  return Promise.all(
    test.map(async ({ id, s }) => {
      const { sum, count: repeats } = sums.get(id)!;
      const { data } = await sharp(join(sim.stimuliDir, `${id}.png`))
        .raw()
        .toBuffer({ resolveWithObject: true });
      return {
        stimulus_id: id,
        voxels: sum.map((v) => v / repeats),
        image: imageTensor(new Uint8Array(data)),
        embedding: embeddings.slice(s * EMBEDDING_VALUES, (s + 1) * EMBEDDING_VALUES),
      };
    }),
  );
}
