import { readFile } from "node:fs/promises";
import path from "node:path";
import { pixCorr, ssim, twoWayIdentification } from "../../gpu-worker/sim/recon/image-metrics.ts";
import type { LabClient } from "../api-client.ts";
import { watchJob } from "../commands/watch-job.ts";
import { UserError } from "../user-error.ts";
import { figurePath, writeFigure } from "./figure-file.ts";
import { type ReconstructionFigureRow, renderReconstructionFigure } from "./reconstruction-figure.ts";
import { readSimTruth, type SimTruth } from "./sim-truth.ts";

export interface ReconstructionDemoOptions {
  dataDir: string;
  model?: string;
  images: number;
  show: number;
  candidates: number;
  samples: number;
  seed: number;
  out: string;
}

interface Reconstruction {
  input: number;
  best?: { url: string; width: number; height: number; clip_score: number };
  candidates?: { url: string; clip_score: number }[];
  blurry?: { url: string };
}

/**
 * Held-out sim01 test images reconstructed through the API as a lab would ask: upload the sessions that
 * show them, send each image's repeats (three sessions) as one averaged input, follow the job, download
 * the PNGs from their signed URLs, score the best against the seen images, and draw the figure.
 */
export async function runReconstructionDemo(
  client: LabClient,
  options: ReconstructionDemoOptions,
): Promise<void> {
  const out = await figurePath(options.out);
  const truth = await readSimTruth(options.dataDir);
  const model = options.model ?? truth.model;
  // Asked first, so nothing is uploaded for a model that cannot reconstruct (or does not exist).
  const { capabilities } = await client.call<{
    capabilities: { reconstruction: boolean; missing_for_reconstruction: string[] };
  }>("GET", `/v1/models/${encodeURIComponent(model)}`);
  if (!capabilities.reconstruction) {
    throw new UserError(
      `${model} cannot reconstruct: its bundle lacks ${capabilities.missing_for_reconstruction.join(", ")} ` +
        "(model_cannot_reconstruct); pick one that can with --model (GET /v1/models)",
    );
  }
  const images = heldOutImages(truth).slice(0, options.images);
  if (images.length < 2)
    throw new UserError("need at least 2 held-out test images to score two-way identification");

  // Each needed session uploaded once; the input rows are those sessions' trials, concatenated in order.
  const sessionsUsed = [...new Set(images.flatMap((image) => image.repeats.map(([s]) => s)))].sort(
    (a, b) => a - b,
  );
  const sessions = [];
  const rowOf = new Map<string, number>();
  let rows = 0;
  for (const s of sessionsUsed) {
    const session = truth.sessions[s]!;
    const upload = await client.upload(path.join(truth.sessionsDir, session.file), { model });
    const trials = images
      .flatMap((image) => image.repeats.filter(([rs]) => rs === s).map(([, t]) => t))
      .sort((a, b) => a - b);
    for (const t of trials) rowOf.set(`${s}:${t}`, rows++);
    sessions.push({ upload_id: upload.id, trials });
  }
  console.log(
    `uploaded ${sessions.length} sessions; ${images.length} held-out images, ${rows} trials (repeats averaged)`,
  );
  const average = images.map((image) => image.repeats.map(([s, t]) => rowOf.get(`${s}:${t}`)!));
  const created = await client.call<{ id: string }>(
    "POST",
    "/v1/reconstructions",
    {
      model,
      betas: { sessions },
      preprocessing: { zscore: "session", average },
      samples: options.samples,
      seed: options.seed,
    },
    { prefer: "respond-async" },
  );
  const job = await watchJob(client, created.id);
  const reconstructions = (job.outputs as { reconstructions: Reconstruction[] }).reconstructions;
  const fetchPng = async (url: string | undefined) =>
    url ? new Uint8Array(await (await client.download(url)).arrayBuffer()) : null;

  const seen = await Promise.all(
    images.map((image) => readFile(path.join(options.dataDir, "sim01", "stimuli", `${image.id}.png`))),
  );
  // One download at a time: a few dozen small PNGs, and no burst of connections for the server to drop.
  const best: Uint8Array[] = [];
  for (const r of reconstructions) {
    const png = await fetchPng(r.best?.url);
    if (!png)
      throw new UserError(`job ${job.id} has no best image for input ${r.input}; ask for outputs "best"`);
    best.push(png);
  }
  const shown = Math.min(options.show, images.length);
  const rowsOfFigure: ReconstructionFigureRow[] = [];
  for (const [i, r] of reconstructions.slice(0, shown).entries()) {
    const others = [...(r.candidates ?? [])]
      .sort((a, b) => b.clip_score - a.clip_score)
      .slice(1, 1 + options.candidates);
    const candidates = [];
    for (const c of others) candidates.push({ png: await fetchPng(c.url), clipScore: c.clip_score });
    rowsOfFigure.push({
      seenId: images[i]!.id,
      seen: seen[i]!,
      blurry: await fetchPng(r.blurry?.url),
      best: { png: best[i]!, clipScore: r.best!.clip_score },
      candidates,
    });
  }
  // Scored after every download: a pause of seconds between requests outlives the server's keep-alive.
  const side = reconstructions[0]!.best!.width;
  const seenPixels = await Promise.all(seen.map((png) => chw(png, side)));
  const bestPixels = await Promise.all(best.map((png) => chw(png, side)));
  const metrics = scoreReconstructions(bestPixels, seenPixels, side);
  const percent = (v: number) => `${(100 * v).toFixed(1)}%`;
  const summary =
    `PixCorr ${metrics.pixCorr.toFixed(3)} (unmatched ${metrics.pixCorrUnmatched.toFixed(3)}) · ` +
    `SSIM ${metrics.ssim.toFixed(3)} (unmatched ${metrics.ssimUnmatched.toFixed(3)}) · ` +
    `2-way identification ${percent(metrics.identification)} (chance 50%)`;
  console.log(
    `\n${images.length} held-out images (pixels, against the seen images; unmatched: against the others): ${summary}`,
  );

  for (const [i, row] of rowsOfFigure.entries()) row.best.pixCorr = metrics.perImage[i];
  const png = await renderReconstructionFigure({
    title: `${model}: held-out test images reconstructed from fMRI (3 repeats averaged)`,
    subtitle: [
      summary,
      `${images.length} held-out images, first ${shown} shown · best of ${options.samples} samples by CLIP ` +
        `score (seed ${options.seed}) · blurry: the low-level image img2img starts from`,
    ],
    candidates: Math.min(options.candidates, Math.max(0, options.samples - 1)),
    rows: rowsOfFigure,
  });
  await writeFigure(out, png);
  console.log(`figure: ${out}`);
}

/** Test images (shown in several sessions, NSD's design), each with its repeats as [session, trial]. */
function heldOutImages(truth: SimTruth): { id: string; repeats: [number, number][] }[] {
  const repeats = new Map<string, [number, number][]>();
  for (const [s, session] of truth.sessions.entries()) {
    for (const [t, id] of session.stimulus.entries()) repeats.set(id, [...(repeats.get(id) ?? []), [s, t]]);
  }
  return [...repeats].filter(([, r]) => r.length > 1).map(([id, r]) => ({ id, repeats: r }));
}

/** A PNG as [3, side, side] floats in [0, 1], resized to `side` when it is another size. */
async function chw(png: Uint8Array, side: number): Promise<Float64Array> {
  const { default: sharp } = await import("sharp");
  const rgb = await sharp(png)
    .removeAlpha()
    .resize(side, side, { kernel: "lanczos3", fit: "fill" })
    .raw()
    .toBuffer();
  const plane = side * side;
  const out = new Float64Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[c * plane + i] = rgb[3 * i + c]! / 255;
  return out;
}

/** The paper's metrics of the best reconstructions against the seen images, and against the others' (chance). */
function scoreReconstructions(recons: Float64Array[], truths: Float64Array[], side: number) {
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const perImage = recons.map((r, i) => pixCorr(r, truths[i]!));
  const unmatched = (metric: (a: Float64Array, b: Float64Array) => number) =>
    mean(recons.flatMap((r, i) => truths.flatMap((t, j) => (i === j ? [] : [metric(r, t)]))));
  return {
    perImage,
    pixCorr: mean(perImage),
    pixCorrUnmatched: unmatched(pixCorr),
    ssim: mean(recons.map((r, i) => ssim(r, truths[i]!, side))),
    ssimUnmatched: unmatched((a, b) => ssim(a, b, side)),
    identification: twoWayIdentification(recons, truths),
  };
}
