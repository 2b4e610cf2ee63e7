import { Command } from "commander";
import { labClient } from "../lab-connection.ts";
import { uploadWithProgress } from "./betas-options.ts";

/** `mindeye upload FILE`: a session's file to the API (progress bar on stderr), inspected; prints its id. */
export function uploadCommand(): Command {
  return new Command("upload")
    .summary("upload a session's betas file; prints the upload id")
    .description(
      "upload a betas file (NIfTI, NPY/NPZ, HDF5/MAT, raw float32) to the API with a progress bar, have it " +
        "inspected, and print the upload id (stdout) and what the API read (stderr)",
    )
    .argument("<file>", "the file to upload")
    .option("--model <id>", "also report how many of this model's voxels the file holds")
    .option("--json", "print the whole upload resource as JSON")
    .action(async (file: string, flags: { model?: string; json?: boolean }) => {
      const upload = await uploadWithProgress(await labClient(), file, flags.model);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(upload, null, 2)}\n`);
        return;
      }
      const voxels = upload.voxels === undefined ? "" : `, ${upload.voxels} voxels for ${flags.model}`;
      process.stderr.write(
        `${upload.status}: ${upload.format} ${upload.dtype} shape [${upload.shape?.join(", ")}], ${upload.trials} trials${voxels}\n`,
      );
      process.stdout.write(`${upload.id}\n`);
    });
}
