import { readFile } from "node:fs/promises";
import path from "node:path";
import { Command } from "commander";
import { loadConfig } from "../../core/config.ts";
import { LabClient } from "../demo/api-client.ts";
import { writeContactSheet } from "../demo/contact-sheet.ts";

interface Hit {
  id: string | number;
  score: number;
  payload: { stimulus_id: string; image: string };
}
type RetrievalAnswer = {
  results?: Hit[][];
  status?: string;
  outputs?: { files: { results: { url: string } } };
};

/**
 * `mindeye demo`: what a lab does with the running API, on one session of the simulated subject:
 * upload the NIfTI, retrieve the image of each of its test trials from the stimulus index (single trials, z-scored per
 * session), print the top-k, and draw a contact sheet (seen image | top-5 retrieved).
 */
export function demoCommand(): Command {
  return new Command("demo")
    .description("upload a sim01 session to the running API, retrieve, print top-k, draw a contact sheet")
    .option("--api <url>", "the API's base URL", "http://127.0.0.1:8787")
    .option("--key <key>", "API key (default: $MINDEYE_API_KEY or <data dir>/local-api-key)")
    .option("--session <n>", "which session (0-based)", "0")
    .option("--show <n>", "images to print and draw", "8")
    .option("--out <file>", "contact sheet PNG", "sim01-contact-sheet.png")
    .action(async (options: { api: string; key?: string; session: string; show: string; out: string }) => {
      const { dataDir } = loadConfig();
      const key =
        options.key ??
        process.env.MINDEYE_API_KEY ??
        (await readFile(path.join(dataDir, "local-api-key"), "utf8")).trim();
      const client = new LabClient(options.api, key);
      const sessionsDir = path.join(dataDir, "sim01", "sessions");
      const truth = JSON.parse(await readFile(path.join(sessionsDir, "truth.json"), "utf8")) as {
        model: string;
        index: string;
        sessions: { file: string; stimulus: string[] }[];
      };
      const session = truth.sessions[Number(options.session)];
      if (!session) throw new Error(`there are ${truth.sessions.length} sessions`);

      const bytes = new Uint8Array(await readFile(path.join(sessionsDir, session.file)));
      const upload = await client.upload(bytes, session.file, truth.model);
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
      const results = answer.results ?? (await resultsOfJob(answer));
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
          seen: path.join(dataDir, "sim01", "stimuli", `${seen[i]}.png`),
          retrieved: hits.map((h) => path.join(dataDir, h.payload.image)),
          hit: hits[0]?.payload.stimulus_id === seen[i],
        });
      }
      await writeContactSheet(rows, options.out);
      console.log(`\ncontact sheet: ${path.resolve(options.out)}`);
    });
}

async function resultsOfJob(answer: RetrievalAnswer): Promise<Hit[][]> {
  if (answer.status !== "succeeded" || !answer.outputs) {
    throw new Error(`the retrieval job is ${answer.status}; try again with a longer wait`);
  }
  const res = await fetch(answer.outputs.files.results.url);
  return ((await res.json()) as { results: Hit[][] }).results;
}
