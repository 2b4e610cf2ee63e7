import { readFile } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../user-error.ts";

/** What the simulated subject knows and a lab would not: which image each trial showed (truth.json). */
export interface SimTruth {
  model: string;
  index: string;
  sessionsDir: string;
  sessions: { file: string; stimulus: string[] }[];
}

export async function readSimTruth(dataDir: string): Promise<SimTruth> {
  const sessionsDir = path.join(dataDir, "sim01", "sessions");
  const truthFile = path.join(sessionsDir, "truth.json");
  const text = await readFile(truthFile, "utf8").catch(() => {
    throw new UserError(`no ${truthFile}: run \`mindeye serve\` here once, which generates sim01`);
  });
  return { ...(JSON.parse(text) as Omit<SimTruth, "sessionsDir">), sessionsDir };
}

/** The session's test trials: images shown again in other sessions (NSD's design), each once here. */
export function testTrials(truth: SimTruth, session: number): number[] {
  const shown = truth.sessions.flatMap((s) => s.stimulus);
  return truth.sessions[session]!.stimulus.flatMap((id, t) =>
    shown.indexOf(id) !== shown.lastIndexOf(id) ? [t] : [],
  );
}

/** A whole number in [min, max] from a flag, or a UserError naming the flag and the range. */
export function wholeNumber(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
    throw new UserError(`${flag} takes a whole number from ${min} to ${max}; got "${value}"`);
  }
  return n;
}
