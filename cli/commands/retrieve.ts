import { Command } from "commander";
import type { Job } from "../api-client.ts";
import { labClient } from "../lab-connection.ts";
import { UserError } from "../user-error.ts";
import { addBetasOptions, type BetasFlags, betasOf } from "./betas-options.ts";
import { watchJob } from "./watch-job.ts";

interface Hit {
  id: string | number;
  score: number;
  payload: Record<string, unknown>;
}

/** `mindeye retrieve BETAS... --model M --index I`: the nearest images of each trial, as a table or JSON. */
export function retrieveCommand(): Command {
  const command = new Command("retrieve")
    .summary("nearest images in an index for each trial of uploads or files")
    .description(
      "search an index with the brain embedding of each trial (or --average group) of uploads or files, and " +
        "print each row's top-k as `row: id score ...` (or the results as JSON)",
    );
  return addBetasOptions(command)
    .requiredOption("--index <name>", "the index to search (see GET /v1/indexes)")
    .option("-k, --k <n>", "hits per row", (v) => positive(v, "-k"), 5)
    .option("--filter <key=value...>", "payload conditions that must all hold, e.g. split=test")
    .option("--json", "print the results as JSON")
    .action(
      async (
        sources: string[],
        flags: BetasFlags & { index: string; k: number; filter?: string[]; json?: boolean },
      ) => {
        const client = await labClient();
        const request = {
          model: flags.model,
          index: flags.index,
          k: flags.k,
          ...(flags.filter ? { filter: filterOf(flags.filter) } : {}),
          ...(await betasOf(client, sources, flags)),
        };
        const created = await client.call<Job>("POST", "/v1/retrievals", request, {
          prefer: "respond-async",
        });
        const job = await watchJob(client, created.id);
        // The results with each index image as a fresh signed URL (the stored file keeps only their keys).
        const { results } = await client.call<{ results: Hit[][] }>(
          "GET",
          `/v1/jobs/${encodeURIComponent(job.id)}/results`,
        );
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(results)}\n`);
          return;
        }
        results.forEach((hits, row) => {
          process.stdout.write(`${row}: ${hits.map((h) => `${h.id} ${h.score.toFixed(4)}`).join("  ")}\n`);
        });
      },
    );
}

function filterOf(pairs: string[]): Record<string, string> {
  const filter: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at < 1) throw new UserError(`--filter takes key=value, e.g. split=test; got "${pair}"`);
    filter[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return filter;
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UserError(`${flag} takes a positive whole number; got "${value}"`);
  return n;
}
