/**
 * ensureSim01: makes sure the simulated subject's files exist in the data dir, generating them on first use:
 * - `<dataDir>/bundles/sim01/`: the model bundle (voxel2clip, clip_image, mask, manifest);
 * - `<dataDir>/sim01/stimuli/`: the stimulus PNGs, their embeddings and stimuli.json;
 * - `<dataDir>/sim01/sessions/`: the held-out sessions (NIfTI + HDF5) and truth.json;
 * - the vector index STIMULUS_INDEX in the given store.
 * `<dataDir>/sim01/complete.json` is written last and records the generator version and every file's sha256;
 * a later call that finds it, with the bundle verifying and every hash matching, reuses the files.
 * Generation is deterministic: regenerating gives the same bytes (HDF5 files aside: see nsd-writers.ts).
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { VectorStore } from "../../core/search/vector-index.ts";
import { loadBundle } from "../bundles/load-bundle.ts";
import { writeBundle } from "./bundle.ts";
import { fitVoxel2clip } from "./fit-voxel2clip.ts";
import { readTruth, type TrialsTruth, writeHeldOutSessions } from "./held-out-sessions.ts";
import { GENERATOR_VERSION, MODEL_ID, STIMULUS_INDEX } from "./sim01-spec.ts";
import { readStimulusFiles, writeStimulusFiles } from "./stimulus-files.ts";
import { ensureStimulusIndex } from "./stimulus-index.ts";
import { buildWorld } from "./world.ts";

export interface EnsureSim01Options {
  /** Where the stimulus index goes; without one, no index is touched. */
  vectorStore?: VectorStore;
  log?: { info: (message: string) => void };
}

export interface Sim01 {
  modelId: string;
  bundleDir: string;
  stimuliDir: string;
  sessionsDir: string;
  /** Name of the stimulus index (in options.vectorStore, when one was given). */
  index: string;
  /** The held-out sessions and the stimulus of each trial (files relative to sessionsDir). */
  truth: TrialsTruth;
  /** False when everything was already there. */
  generated: boolean;
}

interface CompletionMarker {
  generator_version: number;
  /** sha256 of each file under <dataDir>/sim01 and the bundle, keyed by path relative to the data dir. */
  files: Record<string, string>;
}

const MARKER = "complete.json";

async function sha256(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

async function hashTree(dataDir: string, dirs: string[]): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const dir of dirs) {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      files[relative(dataDir, path).split("\\").join("/")] = await sha256(path);
    }
  }
  return files;
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

interface Sim01Paths {
  bundleDir: string;
  stimuliDir: string;
  sessionsDir: string;
  marker: string;
}

export function sim01Paths(dataDir: string): Sim01Paths {
  return {
    bundleDir: join(dataDir, "bundles", MODEL_ID),
    stimuliDir: join(dataDir, MODEL_ID, "stimuli"),
    sessionsDir: join(dataDir, MODEL_ID, "sessions"),
    marker: join(dataDir, MODEL_ID, MARKER),
  };
}

async function generate(dataDir: string, paths: Sim01Paths, info: (message: string) => void) {
  const started = performance.now();
  const log = (message: string) =>
    info(`sim01: ${message} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  await rm(paths.marker, { force: true });
  for (const dir of [paths.stimuliDir, paths.sessionsDir]) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
  }
  const world = buildWorld(log);
  await writeStimulusFiles(paths.stimuliDir, world);
  log("wrote the stimulus PNGs and embeddings");
  await writeHeldOutSessions(paths.sessionsDir, world);
  log("wrote the held-out sessions (NIfTI, HDF5)");
  const fit = fitVoxel2clip(world, log);
  await writeBundle(paths.bundleDir, world, fit);
  log(`wrote the bundle (lambda ${fit.relativeLambda} x mean eigenvalue)`);
  const marker: CompletionMarker = {
    generator_version: GENERATOR_VERSION,
    files: await hashTree(dataDir, [paths.bundleDir, paths.stimuliDir, paths.sessionsDir]),
  };
  await writeFile(paths.marker, `${JSON.stringify(marker, null, 1)}\n`);
}

export async function ensureSim01(dataDir: string, options: EnsureSim01Options = {}): Promise<Sim01> {
  const info = options.log ? (m: string) => options.log!.info(m) : () => {};
  const paths = sim01Paths(dataDir);
  const reuse = await isComplete(dataDir, paths);
  if (reuse) info(`sim01: reusing the simulated subject in ${join(dataDir, MODEL_ID)}`);
  else {
    info(`sim01: generating the simulated subject into ${dataDir} (first run; about a minute)`);
    await generate(dataDir, paths, info);
  }
  if (options.vectorStore) {
    const { records, embeddings } = await readStimulusFiles(paths.stimuliDir);
    if (await ensureStimulusIndex(options.vectorStore, records, embeddings)) {
      info(`sim01: built vector index ${STIMULUS_INDEX} (${records.length} stimuli)`);
    }
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
