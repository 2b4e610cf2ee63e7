/**
 * ensureSim01: makes sure the simulated subject's files exist in the data dir, generating them on first use:
 * - `<dataDir>/bundles/sim01/`: the model bundle (mask, manifest and all seven graphs: it embeds and
 *   reconstructs);
 * - `<dataDir>/sim01/stimuli/`: the stimulus PNGs, their embeddings and stimuli.json;
 * - `<dataDir>/sim01/sessions/`: every session (NIfTI + HDF5) and truth.json;
 * - the vector index STIMULUS_INDEX in the given vector store, and its images in the given blob store.
 * `<dataDir>/sim01/complete.json` is written last and records the generator version and every file's sha256;
 * a later call that finds it, with the bundle verifying and every hash matching, reuses the files.
 * Generation runs in a worker thread (the caller's event loop stays free) and stops when `signal` aborts.
 * It is deterministic: regenerating gives the same bytes (HDF5 files aside: see nsd-writers.ts).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { VectorStore } from "../../core/search/vector-index.ts";
import type { BlobStore } from "../../core/storage/blob-store.ts";
import { loadBundle } from "../bundles/load-bundle.ts";
import { generateOffThread } from "./generate-off-thread.ts";
import { type CompletionMarker, hashTree, type Sim01Paths, sim01Paths } from "./generate-sim01.ts";
import { readTruth, type TrialsTruth } from "./session-files.ts";
import { GENERATOR_VERSION, MODEL_ID, STIMULUS_INDEX } from "./sim01-spec.ts";
import { readStimulusFiles } from "./stimulus-files.ts";
import { publishStimulusImages } from "./stimulus-images.ts";
import { ensureStimulusIndex } from "./stimulus-index.ts";

export interface EnsureSim01Options {
  /** Where the stimulus index goes; without one, no index is touched. */
  vectorStore?: VectorStore;
  /** Where the stimulus PNGs go, for the API to serve by signed URL; without one, none are put. */
  blobStore?: BlobStore;
  log?: { info: (message: string) => void };
  /** Aborting stops a generation under way (its worker thread is terminated) and rejects. */
  signal?: AbortSignal;
}

export interface Sim01 {
  modelId: string;
  bundleDir: string;
  stimuliDir: string;
  sessionsDir: string;
  /** Name of the stimulus index (in options.vectorStore, when one was given). */
  index: string;
  /** The sessions and the stimulus of each trial (files relative to sessionsDir). */
  truth: TrialsTruth;
  /** False when everything was already there. */
  generated: boolean;
}

async function isComplete(dataDir: string, paths: Sim01Paths): Promise<boolean> {
  let marker: CompletionMarker;
  try {
    marker = JSON.parse(await readFile(paths.marker, "utf8")) as CompletionMarker;
  } catch {
    return false;
  }
  if (marker.generator_version !== GENERATOR_VERSION) return false;
  try {
    await loadBundle(paths.bundleDir);
    const present = await hashTree(dataDir, [paths.bundleDir, paths.stimuliDir, paths.sessionsDir]);
    const expected = Object.entries(marker.files);
    return (
      expected.length === Object.keys(present).length &&
      expected.every(([file, hash]) => present[file] === hash)
    );
  } catch {
    return false;
  }
}

export async function ensureSim01(dataDir: string, options: EnsureSim01Options = {}): Promise<Sim01> {
  const info = options.log ? (m: string) => options.log!.info(m) : () => {};
  const paths = sim01Paths(dataDir);
  const reuse = await isComplete(dataDir, paths);
  if (reuse) info(`sim01: reusing the simulated subject in ${join(dataDir, MODEL_ID)}`);
  else {
    info(`sim01: generating the simulated subject into ${dataDir} (first run; a few minutes)`);
    await generateOffThread(dataDir, info, options.signal);
  }
  if (options.vectorStore || options.blobStore) {
    const { records, embeddings } = await readStimulusFiles(paths.stimuliDir);
    if (options.vectorStore && (await ensureStimulusIndex(options.vectorStore, records, embeddings))) {
      info(`sim01: built vector index ${STIMULUS_INDEX} (${records.length} stimuli)`);
    }
    const put = options.blobStore
      ? await publishStimulusImages(options.blobStore, paths.stimuliDir, records)
      : 0;
    if (put) info(`sim01: put ${put} stimulus images in the blob store`);
  }
  return {
    modelId: MODEL_ID,
    bundleDir: paths.bundleDir,
    stimuliDir: paths.stimuliDir,
    sessionsDir: paths.sessionsDir,
    index: STIMULUS_INDEX,
    truth: await readTruth(paths.sessionsDir),
    generated: !reuse,
  };
}
