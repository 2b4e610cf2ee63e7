import { readFile } from "node:fs/promises";
import path from "node:path";
import { Command } from "commander";
import { loadConfig } from "../../core/config.ts";
import type { LabClient } from "../api-client.ts";
import { writeContactSheet } from "../demo/contact-sheet.ts";
import { labClient } from "../lab-connection.ts";
import { UserError } from "../user-error.ts";

interface Hit {
  id: string | number;
  score: number;
  /** `image` is a signed URL of the stimulus's PNG. */
  payload: { stimulus_id: string; image: string };
}
type RetrievalAnswer = { results?: Hit[][]; id?: string; status?: string };

/**
 * `mindeye demo`: what a lab does with the running API, on one session of the simulated subject:
 * upload the NIfTI, retrieve the image of each of its test trials from the stimulus index (single trials, z-scored per
 * session), print the top-k, and draw a contact sheet (seen image | top-5 retrieved).
 */
export function demoCommand(): Command {
  return new Command("demo")
    .description("upload a sim01 session to the running API, retrieve, print top-k, draw a contact sheet")
    .option("--api <url>", "the API's base URL (default: $MINDEYE_API_URL or http://127.0.0.1:8787)")
    .option("--key <key>", "API key (default: $MINDEYE_API_KEY or <data dir>/local-api-key)")
    .option("--session <n>", "which session (0-based)", "0")
    .option("--show <n>", "images to print and draw", "8")
    .option("--out <file>", "contact sheet PNG", "sim01-contact-sheet.png")
    .action(async (options: { api?: string; key?: string; session: string; show: string; out: string }) => {
      const { dataDir } = loadConfig();
      const client = await labClient(options);
      const sessionsDir = path.join(dataDir, "sim01", "sessions");
      const truthFile = path.join(sessionsDir, "truth.json");
      const text = await readFile(truthFile, "utf8").catch(() => {
        throw new UserError(`no ${truthFile}: run \`mindeye serve\` here once, which generates sim01`);
      });
      const truth = JSON.parse(text) as {
        model: string;
        index: string;
        sessions: { file: string; stimulus: string[] }[];
      };
      const session = truth.sessions[Number(options.session)];
      if (!session) throw new UserError(`there are ${truth.sessions.length} sessions`);

      const upload = await client.upload(path.join(sessionsDir, session.file), { model: truth.model });
      console.log(
        `uploaded ${session.file}: ${upload.trials} trials, ${upload.voxels} voxels in ${truth.model}'s mask`,
      );

      // Test images are the ones shown again in other sessions; this session shows each of them once.
      const shown = truth.sessions.flatMap((s) => s.stimulus);
      const trials = session.stimulus.flatMap((id, t) =>
        shown.indexOf(id) !== shown.lastIndexOf(id) ? [t] : [],
      );
      const seen = trials.map((t) => session.stimulus[t]!);
      const answer = await client.call<RetrievalAnswer>(
        "POST",
        "/v1/retrievals",
        {
          index: truth.index,
          k: 5,
          model: truth.model,
          betas: { upload_id: upload.id, trials },
          preprocessing: { zscore: "session" },
          // The paper's evaluation: the seen image among the 300 test images.
          filter: { split: "test" },
        },
        { prefer: "wait=60" },
      );
      const results = answer.results ?? (await resultsOfJob(client, answer));
      const top1 = results.filter((hits, i) => hits[0]?.payload.stimulus_id === seen[i]).length / seen.length;
      console.log(
        `top-1 among the 300 test stimuli of ${truth.index}, over this session's ${seen.length} single test trials: ${(100 * top1).toFixed(1)}% (chance 0.3%)\n`,
      );

      const show = Math.min(Number(options.show), seen.length);
      const rows = [];
      for (let i = 0; i < show; i++) {
        const hits = results[i]!;
        const line = hits.map((h) => `${h.payload.stimulus_id} ${h.score.toFixed(3)}`).join("  ");
        console.log(`${seen[i]} -> ${line}${hits[0]?.payload.stimulus_id === seen[i] ? "  (hit)" : ""}`);
        rows.push({
          seen: await readFile(path.join(dataDir, "sim01", "stimuli", `${seen[i]}.png`)),
          retrieved: await Promise.all(
            hits.map(async (h) => Buffer.from(await (await client.download(h.payload.image)).arrayBuffer())),
          ),
          hit: hits[0]?.payload.stimulus_id === seen[i],
        });
      }
      await writeContactSheet(rows, options.out);
      console.log(`\ncontact sheet: ${path.resolve(options.out)}`);
    });
}

async function resultsOfJob(client: LabClient, answer: RetrievalAnswer): Promise<Hit[][]> {
  if (answer.status !== "succeeded") {
    throw new UserError(`the retrieval job is ${answer.status}; try again with a longer wait`);
  }
  return (await client.call<{ results: Hit[][] }>("GET", `/v1/jobs/${answer.id}/results`)).results;
}
