import { Command, CommanderError } from "commander";
import { ConfigError } from "../core/config-error.ts";
import { ApiError } from "../core/contracts/errors.ts";
import { RemoteApiError } from "../core/contracts/problem-response.ts";
import { DataDirInUseError } from "../core/data-dir.ts";
import packageJson from "../package.json" with { type: "json" };
import { UserError } from "./user-error.ts";

/**
 * Each command with the summary `mindeye --help` lists. Only the command being run is imported: the
 * service's modules (ONNX Runtime, PGlite, the AWS SDK) take seconds to load, which help should not.
 */
const COMMANDS: { name: string; summary: string; load: () => Promise<Command> }[] = [
  {
    name: "serve",
    summary: "run the API with everything in this process",
    load: async () => (await import("./commands/serve.ts")).serveCommand(),
  },
  {
    name: "upload",
    summary: "upload a session's betas file; prints the upload id",
    load: async () => (await import("./commands/upload.ts")).uploadCommand(),
  },
  {
    name: "embed",
    summary: "brain embeddings of uploads or files, written as .npy",
    load: async () => (await import("./commands/embed.ts")).embedCommand(),
  },
  {
    name: "retrieve",
    summary: "nearest images in an index for each trial of uploads or files",
    load: async () => (await import("./commands/retrieve.ts")).retrieveCommand(),
  },
  {
    name: "jobs",
    summary: "list, inspect, watch and cancel the lab's jobs",
    load: async () => (await import("./commands/jobs.ts")).jobsCommand(),
  },
  {
    name: "keys",
    summary: "create, list and revoke labs' API keys",
    load: async () => (await import("./commands/keys.ts")).keysCommand(),
  },
  {
    name: "worker",
    summary: "run the model server; on DATABASE_URL + BLOB_STORE also the jobs, webhooks and sweeps",
    load: async () => (await import("./commands/worker.ts")).workerCommand(),
  },
  {
    name: "api",
    summary: "run the HTTP API alone (the Lambda app), models at WORKER_URL, no jobs",
    load: async () => (await import("./commands/api.ts")).apiCommand(),
  },
  {
    name: "ingest",
    summary: "load LAION-layout embedding shards into a vector index",
    load: async () => {
      const [{ ingestCommand }, { loadConfig }, { S3BlobStore }] = await Promise.all([
        import("./commands/ingest.ts"),
        import("../core/config.ts"),
        import("../core/storage/s3-blob-store.ts"),
      ]);
      return ingestCommand({
        openBlobStore: async (url) => {
          const config = loadConfig();
          return new S3BlobStore({ url, region: config.AWS_REGION, endpoint: config.S3_ENDPOINT });
        },
      });
    },
  },
  {
    name: "sim",
    summary: "the simulated subject sim01 (ground truth for checks and demos)",
    load: async () => (await import("./commands/sim.ts")).simCommand(),
  },
  {
    name: "demo",
    summary: "a held-out sim01 session through the running API, with a contact sheet",
    load: async () => (await import("./commands/demo.ts")).demoCommand(),
  },
];

const program = new Command("mindeye")
  .description("mindeye-serve: decode fMRI betas with the MindEye models")
  .version(packageJson.version)
  .showHelpAfterError()
  .exitOverride();

try {
  // `mindeye help NAME` shows NAME's own help, so NAME is the one to load then.
  const [first, second] = process.argv.slice(2);
  const wanted = first === "help" ? second : first;
  for (const { name, summary, load } of COMMANDS) {
    program.addCommand(
      name === wanted ? (await load()).summary(summary) : new Command(name).summary(summary),
    );
  }
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  // Errors a user can act on are printed plainly; anything else keeps its stack for a bug report.
  if (
    error instanceof UserError ||
    error instanceof ConfigError ||
    error instanceof DataDirInUseError ||
    error instanceof ApiError
  ) {
    // The API's own errors carry their code and request id, for a search in the docs or a support request.
    const remote = error instanceof RemoteApiError ? ` (${error.code}; request ${error.requestId})` : "";
    process.stderr.write(`mindeye: ${error.message}${remote}\n`);
    process.exit(2);
  }
  throw error;
}
