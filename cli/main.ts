import { Command, CommanderError } from "commander";
import { ConfigError, loadConfig } from "../core/config.ts";
import { ApiError } from "../core/contracts/errors.ts";
import { DataDirInUseError } from "../core/data-dir.ts";
import { S3BlobStore } from "../core/storage/s3-blob-store.ts";
import { apiCommand } from "./commands/api.ts";
import { demoCommand } from "./commands/demo.ts";
import { ingestCommand } from "./commands/ingest.ts";
import { keysCommand } from "./commands/keys.ts";
import { serveCommand } from "./commands/serve.ts";
import { simCommand } from "./commands/sim.ts";
import { workerCommand } from "./commands/worker.ts";

const program = new Command("mindeye")
  .description("mindeye-serve: decode fMRI betas with the MindEye models")
  .showHelpAfterError()
  .exitOverride();

program.addCommand(serveCommand());
program.addCommand(keysCommand());
program.addCommand(workerCommand());
program.addCommand(apiCommand());
program.addCommand(
  ingestCommand({
    openBlobStore: async (url) => {
      const config = loadConfig();
      return new S3BlobStore({ url, region: config.AWS_REGION, endpoint: config.S3_ENDPOINT });
    },
  }),
);
program.addCommand(simCommand());
program.addCommand(demoCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  // Errors a user can act on are printed plainly; anything else keeps its stack for a bug report.
  if (error instanceof ConfigError || error instanceof DataDirInUseError || error instanceof ApiError) {
    process.stderr.write(`mindeye: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
