import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeNpy } from "../../core/contracts/tensor.ts";
import { batchJobHandlers } from "../../core/inference/batch-jobs.ts";
import { type JobWorker, startJobWorker } from "../../core/jobs/job-worker.ts";
import { parseNpy } from "../../gpu-worker/bundles/npy.ts";
import { createHarness, type Harness, TINY_MODEL } from "../../test/helpers/harness.ts";
import {
  FORMATS_DIR,
  needsSharedFixtures,
  sharedFixturesMissing,
} from "../../test/helpers/shared-fixtures.ts";

let h: Harness;
let key: string;
let worker: JobWorker;
beforeAll(async () => {
  h = await createHarness();
  key = await h.keyFor("lab-async");
  const { inference, uploads, blobs, vectors, limits } = h.services;
  worker = await startJobWorker({
    db: h.db,
    handlers: batchJobHandlers({
      inference,
      uploads,
      blobs,
      vectors,
      decodedMaxBytes: limits.decodedMaxBytes,
    }),
    pollMs: 50,
  });
});
afterAll(async () => {
  await worker.stop();
  await h.close();
});

const rows = (n: number) =>
  Array.from({ length: n }, (_, i) => Array.from({ length: 40 }, (_, j) => Math.cos(i * 0.37 + j * 0.11)));
const post = (body: unknown, headers: Record<string, string> = {}) =>
  h.request("/v1/embeddings", {
    method: "POST",
    key,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

type Job = {
  id: string;
  status: string;
  urls: { get: string };
  outputs: { files: Record<string, { url: string }>; trials: number };
};

describe("POST /v1/embeddings as a job", () => {
  it("runs with Prefer: respond-async and writes .npy outputs equal to the synchronous answer", async () => {
    const betas = { values: rows(5) };
    const sync = (await (await post({ model: TINY_MODEL, betas })).json()) as {
      outputs: { retrieval: { values: number[][][] } };
    };
    const res = await post({ model: TINY_MODEL, betas }, { prefer: "respond-async, wait=30" });
    expect(res.status).toBe(200);
    const job = (await res.json()) as Job;
    expect(job.status).toBe("succeeded");
    expect(job.outputs.trials).toBe(5);
    const file = await h.app.request(job.outputs.files.retrieval!.url);
    expect(file.status).toBe(200);
    const npy = parseNpy(Buffer.from(await file.arrayBuffer()));
    expect(npy.shape).toEqual([5, 5, 16]);
    expect(Array.from(npy.data)).toEqual(
      Array.from(Float32Array.from(sync.outputs.retrieval.values.flat(2))),
    );
  });

  it("runs an application/x-npy body as a job when asked", async () => {
    const data = Float32Array.from(rows(3).flat());
    const res = await h.request(`/v1/embeddings?model=${TINY_MODEL}`, {
      method: "POST",
      key,
      headers: { "content-type": "application/x-npy", prefer: "respond-async, wait=30" },
      body: encodeNpy(data, [3, 40]),
    });
    expect(res.status).toBe(200);
    const job = (await res.json()) as Job;
    expect(job.status).toBe("succeeded");
    expect(job.outputs.trials).toBe(3);
  });

  it("switches to a job above the synchronous trial limit, and answers 202 at once", async () => {
    const res = await post({ model: TINY_MODEL, betas: { values: rows(70) } });
    expect(res.status).toBe(202);
    const job = (await res.json()) as Job;
    expect(job.urls.get).toContain(`/v1/jobs/${job.id}`);
    await expect
      .poll(async () => ((await (await h.request(`/v1/jobs/${job.id}`, { key })).json()) as Job).status, {
        timeout: 20_000,
      })
      .toBe("succeeded");
  });

  it("creates one job for repeated requests with one Idempotency-Key", async () => {
    const body = { model: TINY_MODEL, betas: { values: rows(2) } };
    const headers = { prefer: "respond-async", "idempotency-key": "embed-once" };
    const first = (await (await post(body, headers)).json()) as Job;
    const again = await post(body, headers);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(((await again.json()) as Job).id).toBe(first.id);
  });

  it("keeps another lab out of the job", async () => {
    const job = (await (
      await post({ model: TINY_MODEL, betas: { values: rows(1) } }, { prefer: "respond-async" })
    ).json()) as Job;
    const other = await h.keyFor("lab-async-other");
    expect((await h.request(`/v1/jobs/${job.id}`, { key: other })).status).toBe(404);
  });
});

describe("POST /v1/uploads/{id}/complete as a job", () => {
  it.skipIf(sharedFixturesMissing)(
    needsSharedFixtures("inspects the file in a job whose outputs are the summary, leaving the upload ready"),
    async () => {
      const bytes = new Uint8Array(await readFile(path.join(FORMATS_DIR, "example4d.nii.gz")));
      const created = await h.request("/v1/uploads", {
        method: "POST",
        key,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ filename: "example4d.nii.gz", size: bytes.length }),
      });
      const { id, upload } = (await created.json()) as { id: string; upload: { url: string } };
      await h.app.request(upload.url, { method: "PUT", body: bytes });
      const res = await h.request(`/v1/uploads/${id}/complete`, {
        method: "POST",
        key,
        headers: { "content-type": "application/json", prefer: "respond-async, wait=30" },
        body: "{}",
      });
      expect(res.status).toBe(200);
      const job = (await res.json()) as { kind: string; status: string; outputs: Record<string, unknown> };
      expect(job).toMatchObject({ kind: "inspect_upload", status: "succeeded" });
      expect(job.outputs).toMatchObject({
        upload_id: id,
        format: "nifti1",
        trials: 2,
        shape: [128, 96, 24, 2],
      });
      const ready = (await (await h.request(`/v1/uploads/${id}`, { key })).json()) as { status: string };
      expect(ready.status).toBe("ready");
    },
  );
});

describe("POST /v1/retrievals as a job", () => {
  it("writes each trial's hits to a JSON file", async () => {
    const index = await h.services.vectors.create("async-images", { dim: 80, metric: "cosine" });
    const sync = (await (await post({ model: TINY_MODEL, betas: { values: rows(3) } })).json()) as {
      outputs: { retrieval: { values: number[][][] } };
    };
    await index.upsert(
      sync.outputs.retrieval.values.map((v, i) => ({
        id: i,
        vector: Float32Array.from(v.flat()),
        payload: { n: i },
      })),
    );
    await index.flush();
    const res = await h.request("/v1/retrievals", {
      method: "POST",
      key,
      headers: { "content-type": "application/json", prefer: "respond-async, wait=30" },
      body: JSON.stringify({ index: "async-images", k: 1, model: TINY_MODEL, betas: { values: rows(3) } }),
    });
    expect(res.status).toBe(200);
    const job = (await res.json()) as Job;
    const file = await h.app.request(job.outputs.files.results!.url);
    const results = (await file.json()) as { results: { payload: { n: number } }[][] };
    expect(results.results.map((r) => r[0]!.payload.n)).toEqual([0, 1, 2]);
  });
});

describe("several sessions, synchronous or as a job: one use case", () => {
  async function uploadSession(data: Float32Array, trials: number): Promise<string> {
    const bytes = encodeNpy(data, [trials, 40]);
    const json = { "content-type": "application/json" };
    const created = await h.request("/v1/uploads", {
      method: "POST",
      key,
      headers: json,
      body: JSON.stringify({ filename: "s.npy", size: bytes.byteLength }),
    });
    const { id, upload } = (await created.json()) as { id: string; upload: { url: string } };
    await h.app.request(upload.url, { method: "PUT", body: bytes });
    await h.request(`/v1/uploads/${id}/complete`, { method: "POST", key, headers: json, body: "{}" });
    return id;
  }

  it("gives the job the synchronous answer for sessions with repeats averaged across them", async () => {
    const first = await uploadSession(Float32Array.from(rows(60).flat()), 60);
    const second = await uploadSession(
      Float32Array.from(rows(61).slice(1).flat(), (x) => 3 * x + 5),
      60,
    );
    const betas = {
      sessions: [
        { upload_id: first, trials: [2, 4] },
        { upload_id: second, trials: [1, 3] },
      ],
    };
    const preprocessing = {
      average: [
        [0, 2],
        [1, 3],
      ],
    };
    const sync = (await (await post({ model: TINY_MODEL, betas, preprocessing })).json()) as {
      outputs: { retrieval: { values: number[][][] } };
      preprocessing: object;
    };
    const res = await post({ model: TINY_MODEL, betas, preprocessing }, { prefer: "respond-async, wait=30" });
    const job = (await res.json()) as Job & { outputs: { preprocessing: object } };
    expect(job.status).toBe("succeeded");
    expect(job.outputs.preprocessing).toEqual(sync.preprocessing);
    const npy = parseNpy(
      Buffer.from(await (await h.app.request(job.outputs.files.retrieval!.url)).arrayBuffer()),
    );
    expect(npy.shape).toEqual([2, 5, 16]);
    expect(Array.from(npy.data)).toEqual(
      Array.from(Float32Array.from(sync.outputs.retrieval.values.flat(2))),
    );

    const index = await h.services.vectors.create("sessions-images", { dim: 80, metric: "cosine" });
    await index.upsert(
      sync.outputs.retrieval.values.map((v, i) => ({
        id: i,
        vector: Float32Array.from(v.flat()),
        payload: { n: i },
      })),
    );
    await index.flush();
    const retrieval = { index: "sessions-images", k: 2, model: TINY_MODEL, betas, preprocessing };
    const syncHits = (await (
      await h.request("/v1/retrievals", {
        method: "POST",
        key,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(retrieval),
      })
    ).json()) as { results: unknown[][] };
    const jobRes = await h.request("/v1/retrievals", {
      method: "POST",
      key,
      headers: { "content-type": "application/json", prefer: "respond-async, wait=30" },
      body: JSON.stringify(retrieval),
    });
    const retrievalJob = (await jobRes.json()) as Job;
    const file = (await (await h.app.request(retrievalJob.outputs.files.results!.url)).json()) as {
      results: unknown[][];
    };
    expect(file.results).toEqual(syncHits.results);
    expect(syncHits.results.map((hits) => (hits[0] as { payload: { n: number } }).payload.n)).toEqual([0, 1]);
  });
});
