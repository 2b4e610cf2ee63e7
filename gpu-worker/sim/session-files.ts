/**
 * The sessions as a lab would hold them: `betas_sessionNN.nii.gz` and `betas_sessionNN.hdf5` per session
 * (NSD's two formats) and `truth.json`, which names the stimulus of every trial in file order (trials with
 * the same stimulus, in any session, are its repeats; only test images have repeats).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeNiftiInt16, writeNsdHdf5 } from "./nsd-writers.ts";
import { GRID, MODEL_ID, STIMULUS_INDEX } from "./sim01-spec.ts";
import { stimulusId } from "./stimuli.ts";
import type { World } from "./world.ts";

export interface SessionFiles {
  /** The NIfTI file, relative to the folder holding truth.json. */
  file: string;
  /** The same betas as NSD-layout HDF5, relative to that folder. */
  hdf5?: string;
  /** Stimulus id of each trial, in file order. */
  stimulus: string[];
}

export interface TrialsTruth {
  model: string;
  /** The vector index whose point ids are these stimulus ids. */
  index: string;
  sessions: SessionFiles[];
}

export const TRUTH_FILE = "truth.json";

const sessionName = (n: number) => `betas_session${String(n).padStart(2, "0")}`;

export async function writeSessionFiles(dir: string, world: World): Promise<TrialsTruth> {
  const sessions: SessionFiles[] = [];
  for (const [i, session] of world.design.sessions.entries()) {
    const name = sessionName(session.number);
    const betas = world.sessionBetas[i]!;
    await writeNiftiInt16(join(dir, `${name}.nii.gz`), betas, GRID);
    await writeNsdHdf5(join(dir, `${name}.hdf5`), betas, GRID);
    sessions.push({
      file: `${name}.nii.gz`,
      hdf5: `${name}.hdf5`,
      stimulus: session.stimuli.map(stimulusId),
    });
  }
  const truth: TrialsTruth = { model: MODEL_ID, index: STIMULUS_INDEX, sessions };
  await writeFile(join(dir, TRUTH_FILE), `${JSON.stringify(truth)}\n`);
  return truth;
}

export async function readTruth(dir: string): Promise<TrialsTruth> {
  return JSON.parse(await readFile(join(dir, TRUTH_FILE), "utf8")) as TrialsTruth;
}
