/**
 * POST /v1/reconstructions as a lab calls it, for the reconstruction route's tests: a stand-in bundle whose
 * seven graphs have the real signatures (gpu-worker/test-graphs), the real pipeline, job worker, blob
 * store and webhook dispatcher, and a webhook receiver. Every pipeline run is watched: how many steps it
 * reported after its signal fired (a cancel or a deadline must stop it within one).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { reconstructionJobHandlers } from "../../../core/inference/reconstruction-job.ts";
import type { Reconstructor } from "../../../core/inference/reconstructor.ts";
import { startJobWorker } from "../../../core/jobs/job-worker.ts";
import { startReceiver } from "../../../core/jobs/test-support/receiver.ts";
import { startWebhookDispatcher } from "../../../core/jobs/webhook-dispatcher.ts";
import { nodeBetasReader } from "../../../core/uploads/betas-reader.ts";
import { ModelServer } from "../../../gpu-worker/runtime/model-server.ts";
import { standInWeights, TINY, writeStandInBundle } from "../../../gpu-worker/test-graphs/stand-in-bundle.ts";
import { createHarness, TEST_WEBHOOK_POLICY, TINY_BUNDLE } from "../../../test/helpers/harness.ts";

export const MODEL = "standin";
/** A bundle without the image decoder's graphs: it embeds, and cannot reconstruct. */
export const EMBED_ONLY = "standin-embed-only";
export const VOXELS = TINY.voxels;

export interface Image {
  url: string;
  width?: number;
  height?: number;
  clip_score?: number;
}
export interface Reconstruction {
  input: number;
  best?: Image;
  candidates?: Image[];
  blurry?: Image;
  seed: number;
}
export interface ProgressDetail {
  input: number;
  inputs: number;
  stage: string;
  step: number;
  steps: number;
  inputs_done: number;
  preview?: { url: string; input: number; step: number; steps: number; width: number; height: number };
}
export interface Job {
  id: string;
  status: string;
  progress: number;
  progress_message: string | null;
  progress_detail: ProgressDetail | null;
  deadline: string | null;
  created_at: string;
  error: { code: string; detail: string } | null;
  urls: { get: string; cancel: string; events: string };
  outputs: { reconstructions: Reconstruction[]; files: Record<string, { url: string }> } | null;
}

async function writeEmbedOnlyBundle(dir: string): Promise<void> {
  await writeStandInBundle(dir, standInWeights(TINY, 7), { id: EMBED_ONLY });
  const manifestPath = join(dir, "manifest.json");
  const manifest = JSON.parse(await readFile(manifestPath, "utf8"));
  for (const graph of ["vae_decoder", "vae_encoder", "unet", "clip_image"]) {
    delete manifest.graphs[graph];
    delete manifest.files[`${graph}.onnx`];
    await rm(join(dir, `${graph}.onnx`));
  }
  await writeFile(manifestPath, JSON.stringify(manifest));
}

/**
 * `minStepMs` holds each pipeline step at least that long (a synchronous sleep, as a slower model would
 * take): the tiny graphs otherwise finish a whole prior between two polls of the event stream.
 */
export async function startReconstructionHarness(pacing: { minStepMs?: number } = {}) {
  const stepPause = new Int32Array(new SharedArrayBuffer(4));
  const bundleDir = await mkdtemp(join(tmpdir(), "standin-bundle-"));
  await writeStandInBundle(bundleDir, standInWeights(TINY, 7), { id: MODEL });
  const embedOnlyDir = await mkdtemp(join(tmpdir(), "standin-embed-only-"));
  await writeEmbedOnlyBundle(embedOnlyDir);
  const models = await ModelServer.open({
    bundleDirs: [TINY_BUNDLE, bundleDir, embedOnlyDir],
    providers: ["cpu"],
    batch: { maxBatchRows: 16, maxDelayMs: 2, maxQueue: 256 },
    log: { info: () => {}, warn: () => {} },
  });
  const h = await createHarness(() => ({ inference: models }));
  const key = await h.keyFor("lab-reconstruct");
  const otherKey = await h.keyFor("lab-reconstruct-other");
  const runs: { signal?: AbortSignal; stepsAfterAbort: number }[] = [];
  const watched: Reconstructor = {
    reconstruct: (model, voxels, options, hooks) => {
      const run = { signal: hooks.signal, stepsAfterAbort: 0 };
      runs.push(run);
      return models.reconstruct(model, voxels, options, {
        ...hooks,
        onProgress: (p) => {
          if (pacing.minStepMs) Atomics.wait(stepPause, 0, 0, pacing.minStepMs);
          if (hooks.signal?.aborted) run.stepsAfterAbort++;
          hooks.onProgress?.(p);
        },
      });
    },
  };
  const { uploads, blobs, limits } = h.services;
  const worker = await startJobWorker({
    db: h.db,
    handlers: reconstructionJobHandlers({
      inference: models,
      uploads,
      blobs,
      decodedMaxBytes: limits.decodedMaxBytes,
      betasReader: nodeBetasReader,
      reconstructor: watched,
    }),
    pollMs: 25,
  });
  const dispatcher = await startWebhookDispatcher({ db: h.db, policy: TEST_WEBHOOK_POLICY, pollMs: 25 });
  const receiver = await startReceiver();

  const post = (body: unknown, headers: Record<string, string> = {}, asKey = key) =>
    h.request("/v1/reconstructions", {
      method: "POST",
      key: asKey,
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
  const getJob = async (id: string, asKey = key) => {
    const res = await h.request(`/v1/jobs/${id}`, { key: asKey });
    return { status: res.status, job: (await res.json()) as Job };
  };
  const download = async (url: string) => {
    const res = await h.app.request(url);
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  };
  /** The lab's webhook secret, to verify deliveries with. */
  const webhookSecret = async () =>
    ((await (await h.request("/v1/webhooks/secret", { key })).json()) as { secret: string }).secret;
  /** The pipeline run of a job (the worker aborts its signal with the job's id). */
  const runOf = (jobId: string) => runs.find((r) => String(r.signal?.reason).includes(jobId));

  return {
    h,
    key,
    otherKey,
    models,
    receiver,
    post,
    getJob,
    download,
    webhookSecret,
    runOf,
    async close() {
      await worker.stop();
      await dispatcher.stop();
      await receiver.close();
      await h.close();
      await models.close();
      await rm(bundleDir, { recursive: true, force: true });
      await rm(embedOnlyDir, { recursive: true, force: true });
    },
  };
}
export type ReconstructionHarness = Awaited<ReturnType<typeof startReconstructionHarness>>;

/** Distinct rows of betas for the stand-in model. */
export const voxelRows = (n: number, shift = 0) =>
  Array.from({ length: n }, (_, i) =>
    Array.from({ length: VOXELS }, (_, j) => Math.sin((i + shift) * 1.3 + j * 0.7)),
  );

export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}
