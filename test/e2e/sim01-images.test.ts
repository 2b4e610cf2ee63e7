/**
 * Index images served by signed URL, as a lab meets them: sim01's stimuli are put in the blob store, the
 * stimulus index stores their keys, and a retrieval (synchronous, or a job's results) answers each hit's
 * `payload.image` with a signed URL that downloads that very stimulus's PNG. A URL that is altered or has
 * expired is refused; a payload key outside the index images is never signed.
 */
import { readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { JobWorker } from "../../core/jobs/job-worker.ts";
import { LocalVectorStore } from "../../core/search/embedded/local-vector-store.ts";
import type { SearchHit } from "../../core/search/vector-index.ts";
import { IMAGE_URL_TTL_SECONDS, presentSearchHits } from "../../functions/presenters/search-hits.ts";
import { ModelServer } from "../../gpu-worker/runtime/model-server.ts";
import { retrievalVector } from "../../gpu-worker/sim/encoder.ts";
import { ensureSim01 } from "../../gpu-worker/sim/ensure-sim01.ts";
import { EMBEDDING_VALUES } from "../../gpu-worker/sim/sim01-spec.ts";
import { readStimulusFiles } from "../../gpu-worker/sim/stimulus-files.ts";
import { createHarness, type Harness, startBatchWorker } from "../helpers/harness.ts";
import { postJson } from "../helpers/lab-files.ts";
import { sharedSim01 } from "../helpers/sim01-cache.ts";

type Hit = SearchHit & { payload: { stimulus_id: string; image: string; image_expires_at: string } };

let h: Harness;
let key: string;
let models: ModelServer;
let worker: JobWorker;
let sim: Awaited<ReturnType<typeof sharedSim01>>;
let indexDir: string;
let embeddings: Float32Array;
let stimulusIds: string[];

beforeAll(async () => {
  indexDir = path.join(os.tmpdir(), `e2e-images-${process.pid}`);
  const vectors = new LocalVectorStore(indexDir, "exact");
  sim = await sharedSim01(vectors);
  models = await ModelServer.open({
    bundleDirs: [sim.bundleDir],
    providers: ["cpu"],
    batch: { maxBatchRows: 64, maxDelayMs: 2, maxQueue: 256 },
    log: pino({ level: "silent" }),
  });
  h = await createHarness(() => ({ inference: models, vectors }));
  // What `mindeye serve` does at start: the files are there, so this only puts the PNGs in its blob store.
  await ensureSim01(sim.dataDir, { vectorStore: vectors, blobStore: h.services.blobs });
  key = await h.keyFor("lab-images");
  worker = await startBatchWorker(h);
  const files = await readStimulusFiles(sim.stimuliDir);
  embeddings = files.embeddings;
  stimulusIds = files.records.map((r) => r.stimulus_id);
}, 900_000);

afterAll(async () => {
  vi.useRealTimers();
  await worker?.stop();
  await h?.close();
  await models?.close();
  await rm(indexDir, { recursive: true, force: true });
});

const call = <T>(pathname: string, body: unknown, headers: Record<string, string> = {}) =>
  postJson<T>(h, key, pathname, body, headers);

/** Stimulus s's own retrieval vector: its top hit is itself (cosine 1), whatever the brain decodes. */
const vectorOf = (id: string) => {
  const s = stimulusIds.indexOf(id);
  return Array.from(retrievalVector(embeddings.subarray(s * EMBEDDING_VALUES, (s + 1) * EMBEDDING_VALUES)));
};

/** Decoded RGB of a PNG, to compare images by their pixels rather than their encoding. */
const pixelsOf = async (png: Uint8Array) => {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
};
const stimulusPixels = async (id: string) => pixelsOf(await readFile(path.join(sim.stimuliDir, `${id}.png`)));

/** Follows a signed URL as a client would: no API key. */
const download = (url: string) => h.app.request(url);

describe("sim01's stimulus images through the API", () => {
  it("the index stores the image's blob key, never a URL", async () => {
    const index = await h.services.vectors.open(sim.index);
    try {
      const [hit] = await index.query(new Float32Array(vectorOf("s0042")), { k: 1 });
      expect(hit!.payload).toMatchObject({
        stimulus_id: "s0042",
        image_key: "indexes/sim01-stimuli/images/s0042.png",
      });
      expect(JSON.stringify(hit!.payload)).not.toContain("http");
    } finally {
      await index.close();
    }
  });

  it("a retrieval's top hit carries a signed URL that downloads that stimulus's PNG", async () => {
    const picks = ["s0042", "s1234", "s2999"];
    const answer = await call<{ results: Hit[][] }>("/v1/retrievals", {
      index: sim.index,
      embedding: { values: picks.map(vectorOf) },
      k: 3,
    });
    for (const [i, id] of picks.entries()) {
      const [top, second] = answer.results[i]!;
      expect(top!.payload.stimulus_id).toBe(id);
      expect(top!.payload).not.toHaveProperty("image_key");
      expect(Date.parse(top!.payload.image_expires_at) - Date.now()).toBeGreaterThan(
        0.9 * IMAGE_URL_TTL_SECONDS * 1000,
      );
      const res = await download(top!.payload.image);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/png");
      const served = await pixelsOf(new Uint8Array(await res.arrayBuffer()));
      expect(served).toMatchObject({ width: 64, height: 64 });
      expect(served.data.equals((await stimulusPixels(id)).data)).toBe(true);
      // Control: the second hit's image is another picture, so equality above is not a property of any PNG.
      const other = await pixelsOf(
        new Uint8Array(await (await download(second!.payload.image)).arrayBuffer()),
      );
      expect(other.data.equals(served.data)).toBe(false);
      expect(other.data.equals((await stimulusPixels(second!.payload.stimulus_id)).data)).toBe(true);
    }
  });

  it("a retrievals job's results, from an uploaded session, carry the same signed image URLs", async () => {
    const session = sim.truth.sessions[0]!;
    const bytes = new Uint8Array(await readFile(path.join(sim.sessionsDir, session.file)));
    const created = await call<{ id: string; upload: { url: string; headers: Record<string, string> } }>(
      "/v1/uploads",
      { filename: session.file, size: bytes.length },
    );
    expect(
      (
        await h.app.request(created.upload.url, {
          method: "PUT",
          body: bytes,
          headers: created.upload.headers,
        })
      ).status,
    ).toBe(200);
    await call(`/v1/uploads/${created.id}/complete`, { model: sim.modelId });
    const shown = sim.truth.sessions.flatMap((s) => s.stimulus);
    const trials = session.stimulus.flatMap((id, t) =>
      shown.indexOf(id) !== shown.lastIndexOf(id) ? [t] : [],
    );
    const job = await call<{
      id: string;
      status: string;
      urls: { results: string };
      outputs: { files: { results: { url: string } } };
    }>(
      "/v1/retrievals",
      {
        index: sim.index,
        model: sim.modelId,
        k: 5,
        betas: { upload_id: created.id, trials },
        preprocessing: { zscore: "session" },
        filter: { split: "test" },
      },
      { prefer: "respond-async, wait=120" },
    );
    expect(job.status).toBe("succeeded");
    const res = await h.request(job.urls.results, { key });
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as { results: Hit[][] };
    expect(results).toHaveLength(trials.length);
    const top1 = results.filter(
      (hits, i) => hits[0]!.payload.stimulus_id === session.stimulus[trials[i]!],
    ).length;
    // Single trials among 300 test images (about 0.73 measured; chance 1/300); the images are the hits'.
    expect(top1 / trials.length).toBeGreaterThan(0.4);
    for (const hits of results.slice(0, 4)) {
      const served = await pixelsOf(
        new Uint8Array(await (await download(hits[0]!.payload.image)).arrayBuffer()),
      );
      expect(served.data.equals((await stimulusPixels(hits[0]!.payload.stimulus_id)).data)).toBe(true);
    }
    // The stored file keeps keys: its URLs would have expired by the time anyone reads it again.
    const stored = await (await download(job.outputs.files.results.url)).text();
    expect(stored).toContain("image_key");
    expect(stored).not.toContain("X-Mindeye-Signature");
    // Another lab gets 404 for the job's results, as for the job.
    const other = await h.keyFor("lab-other");
    expect((await h.request(job.urls.results, { key: other })).status).toBe(404);
    // An embeddings job has files, not results: a 409 that says where its outputs are.
    const embedding = await call<{ id: string; urls: Record<string, string> }>(
      "/v1/embeddings",
      { model: sim.modelId, betas: { upload_id: created.id, trials: trials.slice(0, 2) } },
      { prefer: "respond-async" },
    );
    expect(embedding.urls).not.toHaveProperty("results");
    const refused = await h.request(`/v1/jobs/${embedding.id}/results`, { key });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { detail: string }).detail).toContain("embeddings job");
  }, 300_000);

  describe("refused URLs", () => {
    let url: URL;
    beforeAll(async () => {
      const answer = await call<{ results: Hit[][] }>("/v1/retrievals", {
        index: sim.index,
        embedding: { values: [vectorOf("s0007")] },
        k: 1,
      });
      url = new URL(answer.results[0]![0]!.payload.image);
      expect((await download(url.toString())).status).toBe(200);
    });

    const problemOf = async (res: Response) => ({
      status: res.status,
      code: ((await res.json()) as { code: string }).code,
    });

    it("a tampered signature is refused", async () => {
      const tampered = new URL(url);
      const signature = tampered.searchParams.get("X-Mindeye-Signature")!;
      tampered.searchParams.set(
        "X-Mindeye-Signature",
        `${signature.slice(0, -1)}${signature.endsWith("0") ? "1" : "0"}`,
      );
      expect(await problemOf(await download(tampered.toString()))).toEqual({
        status: 403,
        code: "invalid_signature",
      });
    });

    it("a URL re-pointed at another image, or given a later expiry, is refused", async () => {
      const moved = new URL(url.toString().replace("s0007.png", "s0008.png"));
      expect(await problemOf(await download(moved.toString()))).toEqual({
        status: 403,
        code: "invalid_signature",
      });
      const extended = new URL(url);
      extended.searchParams.set(
        "X-Mindeye-Expires",
        String(Number(url.searchParams.get("X-Mindeye-Expires")) + 86_400),
      );
      expect(await problemOf(await download(extended.toString()))).toEqual({
        status: 403,
        code: "invalid_signature",
      });
    });

    it("an expired URL is refused", async () => {
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(Date.now() + (IMAGE_URL_TTL_SECONDS + 1) * 1000);
      try {
        expect(await problemOf(await download(url.toString()))).toEqual({
          status: 403,
          code: "invalid_signature",
        });
      } finally {
        vi.useRealTimers();
      }
    });
  });

  it("a payload key outside the index images (e.g. a lab's upload) is never signed", async () => {
    const hits = [[{ id: "x", score: 1, payload: { image_key: "uploads/lab_a/up_1/session.nii.gz" } }]];
    const presented = await presentSearchHits(hits, h.services.blobs);
    expect(presented[0]![0]!.payload).toEqual({ image_key: "uploads/lab_a/up_1/session.nii.gz" });
  });
});
