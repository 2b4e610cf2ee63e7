import { type Command, Option } from "commander";
import type { LabClient } from "../api-client.ts";
import { UserError } from "../user-error.ts";
import { formatBytes, progressBar } from "./progress-bar.ts";

export interface BetasFlags {
  model: string;
  trials?: number[];
  zscore?: string;
  scale?: string;
  average?: number[][];
}

/** The options `embed` and `retrieve` share: which betas, of which model, preprocessed how. */
export function addBetasOptions(command: Command): Command {
  return command
    .argument(
      "<betas...>",
      "upload ids (upl_...) or files to upload first; several are sessions, each z-scored on its own",
    )
    .requiredOption("--model <id>", "the model whose voxels these are, e.g. sim01")
    .option("--trials <list>", "0-based trials of a single upload, e.g. 0-9,12", parseTrials)
    .addOption(
      new Option("--zscore <how>", "voxel-wise z-scoring (default: session)").choices(["session", "none"]),
    )
    .option("--scale <how>", "auto (NSD int16 / 300) or a number to divide by")
    .option(
      "--average <groups>",
      "JSON lists of row indices averaged after z-scoring, e.g. [[0,5],[1,6]]",
      parseGroups,
    );
}

/** The request's `betas` and `preprocessing`, uploading any files named (with a progress bar). */
export async function betasOf(client: LabClient, sources: string[], flags: BetasFlags) {
  const uploads: string[] = [];
  for (const source of sources) {
    uploads.push(
      /^upl_[A-Za-z0-9]+$/.test(source) ? source : (await uploadWithProgress(client, source, flags.model)).id,
    );
  }
  if (flags.trials && uploads.length > 1) {
    throw new UserError(
      "--trials selects rows of one upload; with several sessions, average or select afterwards",
    );
  }
  const betas =
    uploads.length === 1
      ? { upload_id: uploads[0], ...(flags.trials ? { trials: flags.trials } : {}) }
      : { sessions: uploads.map((upload_id) => ({ upload_id })) };
  const preprocessing = {
    ...(flags.zscore ? { zscore: flags.zscore } : {}),
    ...(flags.scale ? { scale: flags.scale === "auto" ? "auto" : Number(flags.scale) } : {}),
    ...(flags.average ? { average: flags.average } : {}),
  };
  return { betas, ...(Object.keys(preprocessing).length > 0 ? { preprocessing } : {}) };
}

/** `mindeye upload`'s work: the file streamed to the API with a bar of bytes sent, then inspected. */
export async function uploadWithProgress(client: LabClient, file: string, model?: string) {
  const bar = progressBar(`upload [{bar}] {percentage}% | {sent} of {size} | ETA {eta_formatted}`);
  let started = false;
  try {
    return await client.upload(file, {
      model,
      onProgress: (sent, size) => {
        if (!started) bar.start(size, 0, { sent: formatBytes(0), size: formatBytes(size) });
        started = true;
        bar.update(sent, { sent: formatBytes(sent) });
      },
    });
  } finally {
    if (started) bar.stop();
  }
}

function parseTrials(list: string): number[] {
  const trials: number[] = [];
  for (const part of list.split(",")) {
    const range = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!range) throw new UserError(`--trials takes 0-based indices and ranges like 0-9,12; got "${part}"`);
    const from = Number(range[1]);
    const to = range[2] === undefined ? from : Number(range[2]);
    if (to < from) throw new UserError(`--trials range ${part} runs backwards`);
    for (let t = from; t <= to; t++) trials.push(t);
  }
  return trials;
}

function parseGroups(json: string): number[][] {
  let groups: unknown;
  try {
    groups = JSON.parse(json);
  } catch {
    throw new UserError(`--average takes JSON lists of row indices, e.g. [[0,5],[1,6]]; got ${json}`);
  }
  const valid =
    Array.isArray(groups) &&
    groups.every((g) => Array.isArray(g) && g.every((i) => Number.isInteger(i) && i >= 0));
  if (!valid)
    throw new UserError(`--average takes JSON lists of row indices, e.g. [[0,5],[1,6]]; got ${json}`);
  return groups as number[][];
}
