/**
 * Generates sim01's files into a data dir, from scratch (ensure-sim01.ts decides when): the world from the
 * seed, the stimulus files, the sessions, the fitted bundle (voxel2clip and the reconstruction world), and last
 * the completion marker that records the generator version and every file's sha256. CPU-bound for a minute
 * or two, so callers run it in a worker thread (generate-off-thread.ts). Nothing counts as generated until the
 * marker is written, so a run cut short leaves no marker and the next one starts again.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { writeBundle } from "./bundle.ts";
import { fitVoxel2clip } from "./fit-voxel2clip.ts";
import { fitReconWorld } from "./recon/recon-world.ts";
import { writeSessionFiles } from "./session-files.ts";
import { GENERATOR_VERSION, MODEL_ID } from "./sim01-spec.ts";
import { writeStimulusFiles } from "./stimulus-files.ts";
import { buildWorld } from "./world.ts";

export interface CompletionMarker {
  generator_version: number;
  /** sha256 of each file under <dataDir>/sim01 and the bundle, keyed by path relative to the data dir. */
  files: Record<string, string>;
}

export interface Sim01Paths {
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
    marker: join(dataDir, MODEL_ID, "complete.json"),
  };
}

async function sha256(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

export async function hashTree(dataDir: string, dirs: string[]): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const dir of dirs) {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      files[relative(dataDir, path).split("\\").join("/")] = await sha256(path);
    }
  }
  return files;
}

export async function generateSim01(dataDir: string, info: (message: string) => void): Promise<void> {
  const paths = sim01Paths(dataDir);
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
  await writeSessionFiles(paths.sessionsDir, world);
  log(`wrote the ${world.design.sessions.length} sessions (NIfTI, HDF5)`);
  const fit = fitVoxel2clip(world, log);
  const recon = fitReconWorld(world, fit);
  log("fitted the reconstruction world (prior, decoder, low-level)");
  await writeBundle(paths.bundleDir, world, fit, recon);
  log(`wrote the bundle (lambda ${fit.relativeLambda} x mean eigenvalue, all seven graphs)`);
  const marker: CompletionMarker = {
    generator_version: GENERATOR_VERSION,
    files: await hashTree(dataDir, [paths.bundleDir, paths.stimuliDir, paths.sessionsDir]),
  };
  await writeFile(paths.marker, `${JSON.stringify(marker, null, 1)}\n`);
}
