import { createWriteStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Command, Option } from "commander";
import type { Job } from "../api-client.ts";
import { labClient } from "../lab-connection.ts";
import { UserError } from "../user-error.ts";
import { addBetasOptions, type BetasFlags, betasOf } from "./betas-options.ts";
import { watchJob } from "./watch-job.ts";

/** `mindeye embed BETAS... --model M --out FILE.npy`: brain embeddings of uploaded sessions, as one .npy. */
export function embedCommand(): Command {
  const command = new Command("embed")
    .summary("brain embeddings of uploads or files, written as .npy")
    .description(
      "embed the trials of uploads (or files, uploaded first) as a job, follow its progress, and write the " +
        "output as .npy: [trials, tokens, dim], rows in the order given (after --average)",
    );
  return addBetasOptions(command)
    .addOption(
      new Option("--output <name>", "which output to write")
        .choices(["retrieval", "backbone"])
        .default("retrieval"),
    )
    .option("--out <file>", "where to write the .npy", "embeddings.npy")
    .action(async (sources: string[], flags: BetasFlags & { output: string; out: string }) => {
      const client = await labClient();
      const request = {
        model: flags.model,
        outputs: [flags.output],
        ...(await betasOf(client, sources, flags)),
      };
      const created = await client.call<Job>("POST", "/v1/embeddings", request, { prefer: "respond-async" });
      const job = await watchJob(client, created.id);
      const file = job.outputs.files?.[flags.output];
      if (!file)
        throw new UserError(
          `job ${job.id} succeeded without ${flags.output}; see \`mindeye jobs get ${job.id}\``,
        );
      const body = (await client.download(file.url)).body!;
      await pipeline(
        Readable.fromWeb(body as import("node:stream/web").ReadableStream),
        createWriteStream(flags.out),
      );
      process.stderr.write(
        `${job.outputs.trials} trials of ${flags.model} ${flags.output} -> ${flags.out}\n`,
      );
    });
}
