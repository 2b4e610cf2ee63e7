import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Job, LabClient } from "../api-client.ts";
import { UserError } from "../user-error.ts";
import { figurePath, writeFigure } from "./figure-file.ts";
import { renderRetrievalFigure } from "./retrieval-figure.ts";
import { readSimTruth, testTrials } from "./sim-truth.ts";

interface Hit {
  id: string | number;
  score: number;
  payload: { stimulus_id: string; image?: string };
}

export interface RetrievalDemoOptions {
  dataDir: string;
  session: number;
  show: number;
  k: number;
  out: string;
}

/**
 * A held-out sim01 session through the API as a lab would send it: upload the NIfTI, retrieve each of its
 * single test trials among the 300 test images (z-scored over the session), print the top-k, and draw
 * the figure with the retrieved images fetched from their signed URLs. Only the seen images come from the
 * data dir: they are the simulation's truth, which no API answers.
 */
export async function runRetrievalDemo(client: LabClient, options: RetrievalDemoOptions): Promise<void> {
  const out = await figurePath(options.out);
  const truth = await readSimTruth(options.dataDir);
  const session = truth.sessions[options.session];
  if (!session)
    throw new UserError(`--session takes 0 to ${truth.sessions.length - 1}; got ${options.session}`);
  const upload = await client.upload(path.join(truth.sessionsDir, session.file), { model: truth.model });
  console.log(
    `uploaded ${session.file}: ${upload.trials} trials, ${upload.voxels} voxels in ${truth.model}'s mask`,
  );

  const trials = testTrials(truth, options.session);
  const seen = trials.map((t) => session.stimulus[t]!);
  const answer = await client.call<{ results?: Hit[][] } & Partial<Job>>(
    "POST",
    "/v1/retrievals",
    {
      index: truth.index,
      k: options.k,
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
  const accuracy = `top-1 ${(100 * top1).toFixed(1)}% (chance ${(100 / 300).toFixed(2)}%)`;
  console.log(
    `${accuracy} among the 300 test images, over this session's ${seen.length} single test trials\n`,
  );

  const show = Math.min(options.show, seen.length);
  for (let i = 0; i < show; i++) {
    const hits = results[i]!;
    const line = hits.map((h) => `${h.payload.stimulus_id} ${h.score.toFixed(3)}`).join("  ");
    const rank = hits.findIndex((h) => h.payload.stimulus_id === seen[i]);
    console.log(
      `${seen[i]} -> ${line}  (${rank < 0 ? `not in top ${options.k}` : `seen at rank ${rank + 1}`})`,
    );
  }
  const images = await downloadImages(client, results.slice(0, show).flat());
  const rows = await Promise.all(
    seen.slice(0, show).map(async (id, i) => ({
      seenId: id,
      seen: await readFile(path.join(options.dataDir, "sim01", "stimuli", `${id}.png`)).catch(() => null),
      hits: results[i]!.map((h) => ({
        id: h.payload.stimulus_id,
        score: h.score,
        png: images.get(h.payload.stimulus_id) ?? null,
      })),
    })),
  );
  const png = await renderRetrievalFigure({
    title: `${truth.model}: retrieving the seen image from single-trial fMRI, ${accuracy}`,
    subtitle: [
      `${seen.length} single test trials of ${session.file}, each searched among the 300 test images`,
      `cosine score under each candidate · the seen image framed green at its rank · first ${show} trials shown`,
    ],
    k: options.k,
    rows,
  });
  await writeFigure(out, png);
  console.log(`\nfigure: ${out}`);
}

async function resultsOfJob(client: LabClient, answer: Partial<Job>): Promise<Hit[][]> {
  if (answer.status !== "succeeded") {
    throw new UserError(`the retrieval job is ${answer.status}; try again with a longer wait`);
  }
  return (await client.call<{ results: Hit[][] }>("GET", `/v1/jobs/${answer.id}/results`)).results;
}

/** Each distinct image once, from the signed URL the API gave it (a client's view: no data dir). */
async function downloadImages(client: LabClient, hits: Hit[]): Promise<Map<string, Uint8Array>> {
  const urls = new Map(
    hits.flatMap((h) => (h.payload.image ? [[h.payload.stimulus_id, h.payload.image]] : [])),
  );
  const images = new Map<string, Uint8Array>();
  await Promise.all(
    [...urls].map(async ([id, url]) => {
      images.set(id, new Uint8Array(await (await client.download(url)).arrayBuffer()));
    }),
  );
  return images;
}
