/**
 * Copies sim01's sessions into a folder a lab-like client can upload from, with truth.json:
 * {"model", "index", "sessions": [{"file", "stimulus": [stimulus id of each trial, in file order]}]}.
 */
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type EnsureSim01Options, ensureSim01 } from "./ensure-sim01.ts";
import { TRUTH_FILE, type TrialsTruth } from "./session-files.ts";

export type TrialsFormat = "nifti" | "hdf5";

export async function exportTrials(
  dataDir: string,
  out: string,
  format: TrialsFormat = "nifti",
  options: Pick<EnsureSim01Options, "log"> = {},
): Promise<TrialsTruth> {
  const sim = await ensureSim01(dataDir, options);
  await mkdir(out, { recursive: true });
  const sessions = [];
  for (const session of sim.truth.sessions) {
    const file = format === "hdf5" && session.hdf5 ? session.hdf5 : session.file;
    await copyFile(join(sim.sessionsDir, file), join(out, file));
    sessions.push({ file, stimulus: session.stimulus });
  }
  const truth: TrialsTruth = { model: sim.truth.model, index: sim.truth.index, sessions };
  await writeFile(join(out, TRUTH_FILE), `${JSON.stringify(truth)}\n`);
  return truth;
}
