import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobWorker } from "../../core/jobs/job-worker.ts";
import { encodeNpy, parseNpy } from "../../core/npy/index.ts";
import { createHarness, type Harness, startBatchWorker, TINY_MODEL } from "../../test/helpers/harness.ts";
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
  worker = await startBatchWorker(h);
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

  it("runs a synchronous-size request that names a webhook as a job, keeping the webhook", async () => {
    const url = "http://127.0.0.1:9/embeddings-done";
    const res = await post({ model: TINY_MODEL, betas: { values: rows(2) }, webhook: { url } });
    expect(res.status).toBe(202);
    const job = (await res.json()) as Job & { webhook: { url: string } | null };
    expect(job.webhook?.url).toBe(url);
    await expect
      .poll(async () => ((await (await h.request(`/v1/jobs/${job.id}`, { key })).json()) as Job).status, {
        timeout: 20_000,
      })
      .toBe("succeeded");
  });

  it("keeps large inline betas in the blob store, not the job's row, and runs on them", async () => {
    const betas = { values: rows(300) }; // about 250 kB of JSON
    const res = await post({ model: TINY_MODEL, betas });
    expect(res.status).toBe(202);
    const job = (await res.json()) as Job & { inputs: unknown };
    expect(job.inputs).toMatchObject({ stored_in_blob: true, bytes: expect.any(Number) });
    const [row] = await h.db.query<{ row_bytes: number; inputs_blob: string }>(
      "select octet_length(inputs::text) as row_bytes, inputs_blob from jobs where id = $1",
      [job.id],
    );
    expect(row!.row_bytes).toBeLessThan(200);
    expect(row!.inputs_blob).toMatch(new RegExp(`^jobs/.+/${job.id}/inputs.json$`));
    await expect
      .poll(async () => ((await (await h.request(`/v1/jobs/${job.id}`, { key })).json()) as Job).status, {
        timeout: 30_000,
      })
      .toBe("succeeded");
    const done = (await (await h.request(`/v1/jobs/${job.id}`, { key })).json()) as Job;
    expect(done.outputs.trials).toBe(300);
    const npy = parseNpy(
      Buffer.from(await (await h.app.request(done.outputs.files.retrieval!.url)).arrayBuffer()),
    );
    const sync = (await (
      await post({ model: TINY_MODEL, betas: { values: rows(300).slice(0, 2) } })
    ).json()) as {
      outputs: { retrieval: { values: number[][][] } };
    };
    expect(Array.from(npy.data.subarray(0, 2 * 5 * 16))).toEqual(
      Array.from(Float32Array.from(sync.outputs.retrieval.values.flat(2))),
    );
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

describe("erasing lab data", () => {
  const listKeys = async (prefix: string) => {
    const keys: string[] = [];
    for await (const head of h.services.blobs.list(prefix)) keys.push(head.key);
    return keys;
  };

  it("DELETE /v1/jobs/{id} erases a finished job's inputs blob, output files and record", async () => {
    const res = await post({ model: TINY_MODEL, betas: { values: rows(300) } }, { prefer: "wait=30" });
    const job = (await res.json()) as Job;
    expect(job.status).toBe("succeeded");
    const [row] = await h.db.query<{ lab_id: string; inputs_blob: string }>(
      "select lab_id, inputs_blob from jobs where id = $1",
      [job.id],
    );
    expect(await h.services.blobs.head(row!.inputs_blob)).not.toBeNull();
    expect(await listKeys(`outputs/${row!.lab_id}/${job.id}/`)).not.toEqual([]);

    expect((await h.request(`/v1/jobs/${job.id}`, { method: "DELETE", key })).status).toBe(204);
    expect((await h.request(`/v1/jobs/${job.id}`, { key })).status).toBe(404);
    expect(await h.services.blobs.head(row!.inputs_blob)).toBeNull();
    expect(await listKeys(`outputs/${row!.lab_id}/${job.id}/`)).toEqual([]);
    expect((await h.app.request(job.outputs.files.retrieval!.url)).status).toBe(404);
    expect(await h.db.query("select 1 from webhook_events where job_id = $1", [job.id])).toEqual([]);
  });

  it("deleting an upload erases the jobs derived from it and their outputs, and keeps the rest", async () => {
    const bytes = new Uint8Array(new Float32Array(rows(3).flat()).buffer);
    const created = await h.request("/v1/uploads", {
      method: "POST",
      key,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ filename: "session.raw", size: bytes.length }),
    });
    const { id, upload } = (await created.json()) as { id: string; upload: { url: string } };
    await h.app.request(upload.url, { method: "PUT", body: bytes });
    const completed = await h.request(`/v1/uploads/${id}/complete`, {
      method: "POST",
      key,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ raw_shape: [3, 40] }),
    });
    expect(completed.status).toBe(200);
    const derived = (await (
      await post({ model: TINY_MODEL, betas: { upload_id: id } }, { prefer: "respond-async, wait=30" })
    ).json()) as Job;
    expect(derived.status).toBe("succeeded");
    const unrelated = (await (
      await post({ model: TINY_MODEL, betas: { values: rows(1) } }, { prefer: "respond-async, wait=30" })
    ).json()) as Job;

    expect((await h.request(`/v1/uploads/${id}`, { method: "DELETE", key })).status).toBe(204);
    expect((await h.request(`/v1/jobs/${derived.id}`, { key })).status).toBe(404);
    expect((await h.app.request(derived.outputs.files.retrieval!.url)).status).toBe(404);
    expect((await h.request(`/v1/jobs/${unrelated.id}`, { key })).status).toBe(200);
    expect((await h.app.request(unrelated.outputs.files.retrieval!.url)).status).toBe(200);
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

    // A webhook makes a synchronous-size retrieval a job; where none can run, it is refused, not dropped.
    const webhook = { url: "http://127.0.0.1:9/retrieval-done" };
    const withHook = await h.request("/v1/retrievals", {
      method: "POST",
      key,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        index: "async-images",
        k: 1,
        model: TINY_MODEL,
        betas: { values: rows(1) },
        webhook,
      }),
    });
    expect(withHook.status).toBe(202);
    expect(((await withHook.json()) as { webhook: { url: string } }).webhook.url).toBe(webhook.url);
    const byEmbedding = await h.request("/v1/retrievals", {
      method: "POST",
      key,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ index: "async-images", k: 1, embedding: { values: rows(1)[0] }, webhook }),
    });
    expect(byEmbedding.status).toBe(400);
    expect(((await byEmbedding.json()) as { detail: string }).detail).toMatch(/webhook/);
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
