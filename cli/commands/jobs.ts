import { Command, Option } from "commander";
import type { Job } from "../api-client.ts";
import { labClient } from "../lab-connection.ts";
import { watchJob } from "./watch-job.ts";

const STATUSES = ["queued", "running", "succeeded", "failed", "canceled", "expired"];

/** `mindeye jobs list|get|watch|cancel`: the lab's jobs. */
export function jobsCommand(): Command {
  const jobs = new Command("jobs").summary("list, inspect, watch and cancel the lab's jobs");
  jobs.description("the lab's jobs (batch embeddings and retrievals, upload inspections)");

  jobs
    .command("list")
    .description("the newest jobs: id, kind, status, progress, created")
    .addOption(new Option("--status <status>", "only jobs in this status").choices(STATUSES))
    .option("--limit <n>", "how many (1 to 100)", "20")
    .action(async (flags: { status?: string; limit: string }) => {
      const query = new URLSearchParams({
        limit: flags.limit,
        ...(flags.status ? { status: flags.status } : {}),
      });
      const page = await (await labClient()).call<{ data: Job[] }>("GET", `/v1/jobs?${query}`);
      for (const job of page.data) {
        const percent = `${Math.round(job.progress * 100)}%`;
        process.stdout.write(`${job.id}\t${job.kind}\t${job.status}\t${percent}\t${job.created_at}\n`);
      }
    });

  jobs
    .command("get")
    .description("the job as JSON, with fresh signed URLs for its output files")
    .argument("<id>")
    .action(async (id: string) => {
      const job = await (await labClient()).call<Job>("GET", `/v1/jobs/${encodeURIComponent(id)}`);
      process.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
    });

  jobs
    .command("watch")
    .description(
      "follow the job's progress (from its event stream) until it ends; exits non-zero unless it succeeded",
    )
    .argument("<id>")
    .action(async (id: string) => {
      const job = await watchJob(await labClient(), id);
      const files = Object.keys(job.outputs.files ?? {});
      process.stdout.write(`${job.id} succeeded${files.length ? `; files: ${files.join(", ")}` : ""}\n`);
    });

  jobs
    .command("cancel")
    .description("cancel the job: at once if queued, at its next progress report if running")
    .argument("<id>")
    .action(async (id: string) => {
      const job = await (await labClient()).call<Job>("POST", `/v1/jobs/${encodeURIComponent(id)}/cancel`);
      const pending = job.status === "running" ? " (cancel requested; it stops at its next report)" : "";
      process.stdout.write(`${job.id} ${job.status}${pending}\n`);
    });

  return jobs;
}
