import { Command, Option } from "commander";
import { loadConfig } from "../../core/config.ts";
import { exportTrials, type TrialsFormat } from "../../gpu-worker/sim/export-trials.ts";

/**
 * `mindeye sim export-trials --out DIR [--format nifti|hdf5]`: writes the simulated subject's
 * sessions (generated into the data dir on first use) and truth.json naming each trial's stimulus.
 */
export function simCommand(): Command {
  const sim = new Command("sim").description(
    "the simulated subject sim01 (ground truth for checks and demos)",
  );
  sim
    .command("export-trials")
    .description("write sim01's sessions as NSD-style betas, plus truth.json")
    .requiredOption("--out <dir>", "folder to write the session files and truth.json into")
    .addOption(
      new Option("--format <format>", "NIfTI (.nii.gz) or NSD-layout HDF5 (.hdf5)")
        .choices(["nifti", "hdf5"])
        .default("nifti"),
    )
    .action(async (flags: { out: string; format: TrialsFormat }) => {
      const config = loadConfig();
      const log = { info: (message: string) => process.stderr.write(`${message}\n`) };
      const truth = await exportTrials(config.dataDir, flags.out, flags.format, { log });
      const trials = truth.sessions.reduce((n, s) => n + s.stimulus.length, 0);
      process.stdout.write(
        `wrote ${truth.sessions.length} sessions (${trials} trials) and truth.json to ${flags.out}; ` +
          `model ${truth.model}, index ${truth.index}\n`,
      );
    });
  return sim;
}
