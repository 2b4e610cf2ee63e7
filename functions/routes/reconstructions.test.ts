/**
 * POST /v1/reconstructions as a lab calls it: a stand-in bundle whose seven graphs have the real
 * signatures (gpu-worker/test-graphs), the real pipeline, job worker, blob store, webhook dispatcher.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WebhookSecretRecord } from "../../core/contracts/jobs.ts";
import { reconstructionJobHandlers } from "../../core/inference/reconstruction-job.ts";
import type { Reconstructor } from "../../core/inference/reconstructor.ts";
import { type JobWorker, startJobWorker } from "../../core/jobs/job-worker.ts";
import { type Receiver, startReceiver } from "../../core/jobs/test-support/receiver.ts";
import { startWebhookDispatcher, type WebhookDispatcher } from "../../core/jobs/webhook-dispatcher.ts";
import { ModelServer } from "../../gpu-worker/runtime/model-server.ts";
import { standInWeights, TINY, writeStandInBundle } from "../../gpu-worker/test-graphs/stand-in-bundle.ts";
import { createHarness, type Harness, TEST_WEBHOOK_POLICY, TINY_BUNDLE } from "../../test/helpers/harness.ts";

const MODEL = "standin";
let h: Harness;
let key: string;
let otherKey: string;
let models: ModelServer;
let worker: JobWorker;
let dispatcher: WebhookDispatcher;
let receiver: Receiver;
let bundleDir: string;
let embedOnlyDir: string;
/** A bundle without the image decoder's graphs: it embeds, and cannot reconstruct. */
const EMBED_ONLY = "standin-embed-only";

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
/** Each pipeline run's signal, with the steps it reported after that signal fired (a cancel must stop within one). */
const runs: { signal?: AbortSignal; stepsAfterAbort: number }[] = [];

beforeAll(async () => {
  bundleDir = await mkdtemp(join(tmpdir(), "standin-bundle-"));
  await writeStandInBundle(bundleDir, standInWeights(TINY, 7), { id: MODEL });
  embedOnlyDir = await mkdtemp(join(tmpdir(), "standin-embed-only-"));
  await writeEmbedOnlyBundle(embedOnlyDir);
  models = await ModelServer.open({
    bundleDirs: [TINY_BUNDLE, bundleDir, embedOnlyDir],
    providers: ["cpu"],
    batch: { maxBatchRows: 16, maxDelayMs: 2, maxQueue: 256 },
    log: { info: () => {}, warn: () => {} },
  });
  h = await createHarness(() => ({ inference: models }));
  key = await h.keyFor("lab-reconstruct");
  otherKey = await h.keyFor("lab-reconstruct-other");
  // The real pipeline, watched: how many steps it reports once the job's signal has fired.
  const watched: Reconstructor = {
    reconstruct: (model, voxels, options, hooks) => {
      const run = { signal: hooks.signal, stepsAfterAbort: 0 };
      runs.push(run);
      return models.reconstruct(model, voxels, options, {
        ...hooks,
        onProgress: (p) => {
          if (hooks.signal?.aborted) run.stepsAfterAbort++;
          hooks.onProgress?.(p);
        },
      });
    },
  };
  const { uploads, blobs, limits } = h.services;
  worker = await startJobWorker({
    db: h.db,
    handlers: reconstructionJobHandlers({
      inference: models,
      uploads,
      blobs,
      decodedMaxBytes: limits.decodedMaxBytes,
      reconstructor: watched,
    }),
    pollMs: 25,
  });
  dispatcher = await startWebhookDispatcher({ db: h.db, policy: TEST_WEBHOOK_POLICY, pollMs: 25 });
  receiver = await startReceiver();
});
afterAll(async () => {
  await worker.stop();
  await dispatcher.stop();
  await receiver.close();
  await h.close();
  await models.close();
  await rm(bundleDir, { recursive: true, force: true });
  await rm(embedOnlyDir, { recursive: true, force: true });
});

const voxelRows = (n: number, shift = 0) =>
  Array.from({ length: n }, (_, i) =>
    Array.from({ length: TINY.voxels }, (_, j) => Math.sin((i + shift) * 1.3 + j * 0.7)),
  );

const post = (body: unknown, headers: Record<string, string> = {}, asKey = key) =>
  h.request("/v1/reconstructions", {
    method: "POST",
    key: asKey,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

interface Image {
  url: string;
  width?: number;
  height?: number;
  clip_score?: number;
}
interface Job {
  id: string;
  status: string;
  progress: number;
  progress_message: string | null;
  urls: { get: string; cancel: string };
  outputs: {
    reconstructions: { input: number; best?: Image; candidates?: Image[]; blurry?: Image; seed: number }[];
    files: Record<string, { url: string }>;
  } | null;
}

const getJob = async (id: string, asKey = key) => {
  const res = await h.request(`/v1/jobs/${id}`, { key: asKey });
  return { status: res.status, job: (await res.json()) as Job };
};

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const download = async (url: string) => {
  const res = await h.app.request(url);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
};

describe("POST /v1/reconstructions", () => {
  it("queues a job (202), announces it by a verifiable webhook, and writes PNGs that decode", async () => {
    const res = await post({
      model: MODEL,
      betas: { values: voxelRows(2) },
      samples: 4,
      webhook: { url: receiver.url, events: ["job.succeeded"] },
    });
    expect(res.status).toBe(202);
    const created = (await res.json()) as Job;
    expect(created.status).toBe("queued");

    const hook = await waitFor("job.succeeded", async () =>
      receiver.received.find((r) => r.type === "job.succeeded" && r.body.includes(created.id)),
    );
    const secret = ((await (await h.request("/v1/webhooks/secret", { key })).json()) as WebhookSecretRecord)
      .secret;
    const event = new Webhook(secret).verify(hook.body, hook.headers) as { data: { id: string } };
    expect(event.data.id).toBe(created.id);
    // A body altered in transit does not verify.
    expect(() => new Webhook(secret).verify(hook.body.replace(created.id, "job_x"), hook.headers)).toThrow();

    const { job } = await getJob(created.id);
    expect(job.status).toBe("succeeded");
    const recs = job.outputs!.reconstructions;
    expect(recs.map((r) => r.input)).toEqual([0, 1]);
    for (const rec of recs) {
      expect(rec.seed).toBe(42);
      expect(rec.candidates).toHaveLength(4);
      const scores = rec.candidates!.map((c) => c.clip_score!);
      // The best is the candidate with the highest CLIP score, and the same picture.
      expect(rec.best!.clip_score).toBe(Math.max(...scores));
      const bestBytes = await download(rec.best!.url);
      const winner = rec.candidates![scores.indexOf(Math.max(...scores))]!;
      expect(bestBytes.equals(await download(winner.url))).toBe(true);
      const { info } = await sharp(bestBytes).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([16, 16, 3]);
      expect([rec.best!.width, rec.best!.height]).toEqual([16, 16]);
      const blurry = await sharp(await download(rec.blurry!.url)).metadata();
      expect([blurry.width, blurry.height]).toEqual([16, 16]);
    }
    // Different inputs give different pictures.
    const [a, b] = await Promise.all(recs.map((r) => download(r.best!.url)));
    expect(a!.equals(b!)).toBe(false);
    const scores = JSON.parse((await download(job.outputs!.files["scores.json"]!.url)).toString()) as {
      clip_scores: number[];
    }[];
    expect(scores[1]!.clip_scores).toEqual(recs[1]!.candidates!.map((c) => c.clip_score));
  });

  it("gives identical bytes for the same seed and different ones for another seed", async () => {
    const run = async (seed: number) => {
      const res = await post(
        { model: MODEL, betas: { values: voxelRows(1, 5) }, samples: 3, seed, outputs: ["best"] },
        { prefer: "wait=30" },
      );
      expect(res.status).toBe(200);
      const job = (await res.json()) as Job;
      expect(job.status).toBe("succeeded");
      const rec = job.outputs!.reconstructions[0]!;
      expect(rec.candidates).toBeUndefined();
      expect(rec.blurry).toBeUndefined();
      return download(rec.best!.url);
    };
    const first = await run(7);
    expect((await run(7)).equals(first)).toBe(true);
    expect((await run(8)).equals(first)).toBe(false);
  });

  it("stops a canceled job within one step, reports input/stage/step progress, and sends job.canceled", async () => {
    const res = await post({
      model: MODEL,
      betas: { values: voxelRows(200) },
      samples: 16,
      webhook: { url: receiver.url, events: ["job.canceled"] },
    });
    const created = (await res.json()) as Job;
    const running = await waitFor("progress", async () => {
      const { job } = await getJob(created.id);
      return job.progress_message?.match(/^input \d+ \(of 200\) (prior|decoder) \d+\/\d+$/) ? job : undefined;
    });
    expect(running.status).toBe("running");
    expect((await h.request(created.urls.cancel, { method: "POST", key })).status).toBe(200);
    const finished = await waitFor("canceled", async () => {
      const { job } = await getJob(created.id);
      return job.status === "canceled" ? job : undefined;
    });
    expect(finished.outputs).toBeNull();
    await waitFor("job.canceled", async () =>
      receiver.received.find((r) => r.type === "job.canceled" && r.body.includes(created.id)),
    );
    // The worker aborts the run's signal with the job's id; the run then reports at most one more step.
    const canceledRun = runs.find((r) => String(r.signal?.reason).includes(created.id));
    expect(canceledRun).toBeDefined();
    expect(canceledRun!.stepsAfterAbort).toBeLessThanOrEqual(1);
    // It stopped part-way: the last input was never written.
    const written: string[] = [];
    for await (const blob of h.services.blobs.list(`outputs/`)) {
      if (blob.key.includes(created.id) && blob.key.endsWith("-scores.json")) written.push(blob.key);
    }
    expect(written.length).toBeLessThan(200);
  });

  it("replays the same job for the same Idempotency-Key", async () => {
    const body = { model: MODEL, betas: { values: voxelRows(1) }, samples: 1 };
    const first = (await (await post(body, { "idempotency-key": "rec-1" })).json()) as Job;
    const again = (await (await post(body, { "idempotency-key": "rec-1" })).json()) as Job;
    expect(again.id).toBe(first.id);
    const other = await post({ ...body, seed: 1 }, { "idempotency-key": "rec-1" });
    expect(other.status).toBe(422);
  });

  it("hides a lab's reconstruction from another lab (404)", async () => {
    const created = (await (
      await post({ model: MODEL, betas: { values: voxelRows(1) }, samples: 1 })
    ).json()) as Job;
    expect((await getJob(created.id, otherKey)).status).toBe(404);
    const cancel = await h.request(created.urls.cancel, { method: "POST", key: otherKey });
    expect(cancel.status).toBe(404);
  });

  it("refuses a model that cannot reconstruct with 422 before any job exists", async () => {
    const before = (await (await h.request("/v1/jobs", { key })).json()) as { data: unknown[] };
    const res = await post({ model: EMBED_ONLY, betas: { values: voxelRows(1) } });
    expect(res.status).toBe(422);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    const problem = (await res.json()) as { code: string; detail: string; missing_graphs: string[] };
    expect(problem.code).toBe("model_cannot_reconstruct");
    expect([...problem.missing_graphs].sort()).toEqual(["clip_image", "unet", "vae_decoder", "vae_encoder"]);
    const after = (await (await h.request("/v1/jobs", { key })).json()) as { data: unknown[] };
    expect(after.data.length).toBe(before.data.length);
    // The same model still embeds: the refusal is about reconstruction only.
    const embedded = await h.request("/v1/embeddings", {
      method: "POST",
      key,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: EMBED_ONLY, betas: { values: voxelRows(1) } }),
    });
    expect(embedded.status).toBe(200);
  });

  it("names what is wrong in a bad request", async () => {
    const bad = async (body: unknown, field: string) => {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { detail: string }).detail).toContain(field);
    };
    const betas = { values: voxelRows(1) };
    await bad({ model: MODEL, betas, samples: 17 }, "samples");
    await bad({ model: MODEL, betas, outputs: ["prior_embeddings"] }, "outputs");
    await bad({ model: MODEL, betas, img2img_strength: 0 }, "img2img_strength");
    await bad({ model: MODEL, betas, prior_steps: 50 }, "prior_steps");
    await bad({ model: MODEL, betas, steps: 10 }, "steps");
    const wrongVoxels = await post({ model: MODEL, betas: { values: [[1, 2, 3]] } });
    expect(wrongVoxels.status).toBe(422);
  });
});

describe("OpenAPI", () => {
  it("describes the route with its request example and output shape", async () => {
    const doc = (await (await h.request("/openapi.json")).json()) as {
      paths: Record<string, { post?: { requestBody: unknown; responses: Record<string, unknown> } }>;
      components: { schemas: Record<string, { example?: unknown }> };
    };
    const op = doc.paths["/v1/reconstructions"]?.post;
    expect(op).toBeDefined();
    expect(Object.keys(op!.responses)).toEqual(expect.arrayContaining(["202", "422"]));
    expect(doc.components.schemas.ReconstructionRequest?.example).toMatchObject({ model: "sim01" });
    expect(doc.components.schemas.ReconstructionOutputs?.example).toBeDefined();
  });
});
