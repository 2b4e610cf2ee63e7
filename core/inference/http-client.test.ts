import type { AddressInfo } from "node:net";
import path from "node:path";
import { type ServerType, serve } from "@hono/node-server";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readNpy } from "../../core/npy/index.ts";
import type { BatcherOptions } from "../../gpu-worker/runtime/dynamic-batcher.ts";
import { ModelServer } from "../../gpu-worker/runtime/model-server.ts";
import { ServedModels } from "../../gpu-worker/server/served-models.ts";
import { createWorkerApp } from "../../gpu-worker/server/worker-app.ts";
import { WorkerMetrics } from "../../gpu-worker/server/worker-metrics.ts";
import { ApiError } from "../contracts/errors.ts";
import { HttpInferenceClient } from "./http-client.ts";
import { workerAuthToken } from "./worker-protocol.ts";

// The test reaches into gpu-worker to run a real worker; http-client.ts itself imports only core.
const BUNDLE = path.resolve("test/fixtures/bundles/mindeye1-subj01-tiny");
const MODEL = "mindeye1-subj01-tiny";
const SECRET = "http-client-test-signing-secret-32-chars";
const log = pino({ level: "silent" });

interface RunningWorker {
  url: string;
  models: ServedModels;
  metrics: WorkerMetrics;
  close(): Promise<void>;
}

async function startWorker(server: ModelServer | undefined): Promise<RunningWorker> {
  const models = new ServedModels();
  models.set(server);
  const metrics = new WorkerMetrics(() => models.peek()?.batchStats());
  const app = createWorkerApp({ models, metrics, log, authToken: await workerAuthToken(SECRET) });
  const http = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
  });
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    models,
    metrics,
    close: () => new Promise((resolve) => http.close(() => resolve())),
  };
}

const openServer = (batch: BatcherOptions) =>
  ModelServer.open({ bundleDirs: [BUNDLE], providers: ["cpu"], batch, log });

const requestsTo = async (worker: RunningWorker, route: string) => {
  const text = (await worker.metrics.render()).body;
  const line = text
    .split("\n")
    .find(
      (l) => l.startsWith("mindeye_worker_request_duration_seconds_count{") && l.includes(`route="${route}"`),
    );
  return line ? Number(line.split(" ").at(-1)) : 0;
};

let server: ModelServer;
let worker: RunningWorker;
let client: HttpInferenceClient;
let voxels: Awaited<ReturnType<typeof readNpy>>;
beforeAll(async () => {
  server = await openServer({ maxBatchRows: 16, maxDelayMs: 0, maxQueue: 64 });
  worker = await startWorker(server);
  client = new HttpInferenceClient({ url: worker.url, signingSecret: SECRET });
  voxels = await readNpy(path.join(BUNDLE, "parity/voxel2clip/voxels.npy"));
});
afterAll(async () => {
  await worker.close();
  await server.close();
});

describe("HttpInferenceClient", () => {
  it("describes models and masks as the in-process server does, asking the worker once", async () => {
    expect(await client.listModels()).toEqual(await server.listModels());
    expect(await client.getModel(MODEL)).toEqual(await server.getModel(MODEL));
    expect(await client.getMask(MODEL)).toEqual(await server.getMask(MODEL));
    await client.getMask(MODEL);
    await client.getModel(MODEL);
    expect(await requestsTo(worker, "/v2/models/:id/mask")).toBe(1);
    expect(await requestsTo(worker, "/v2/models")).toBe(1);
  });

  it("embeds to exactly the in-process outputs", async () => {
    const remote = await client.embed(MODEL, voxels, ["backbone", "retrieval"]);
    const local = await server.embed(MODEL, voxels, ["backbone", "retrieval"]);
    for (const name of ["backbone", "retrieval"] as const) {
      expect(remote.outputs[name]!.shape).toEqual(local.outputs[name]!.shape);
      expect(remote.outputs[name]!.data).toEqual(local.outputs[name]!.data);
    }
    expect(remote.timing.batch_size).toBe(voxels.shape[0]);
    expect(remote.timing.run_ms).toBeGreaterThan(0);
    const onlyRetrieval = await client.embed(MODEL, voxels, ["retrieval"]);
    expect(Object.keys(onlyRetrieval.outputs)).toEqual(["retrieval"]);
  });

  it("raises the worker's problems as the same ApiErrors", async () => {
    await expect(client.getModel("nope")).rejects.toMatchObject({ code: "model_not_found", status: 404 });
    await expect(client.getMask("nope")).rejects.toMatchObject({ code: "model_not_found" });
    await expect(
      client.embed("nope", { data: new Float32Array(40), shape: [1, 40] }, ["retrieval"]),
    ).rejects.toMatchObject({ code: "model_not_found" });
    const wrong = client.embed(MODEL, { data: new Float32Array(2 * 39), shape: [2, 39] }, ["retrieval"]);
    await expect(wrong).rejects.toBeInstanceOf(ApiError);
    await expect(wrong).rejects.toMatchObject({ code: "voxel_count_mismatch", status: 422 });
  });

  it("reports a worker that refuses its token, is unreachable, or is not ready", async () => {
    const wrongSecret = new HttpInferenceClient({ url: worker.url, signingSecret: `${SECRET}-other` });
    await expect(wrongSecret.listModels()).rejects.toMatchObject({
      code: "upstream_unavailable",
      status: 502,
    });

    const gone = await startWorker(server);
    await gone.close();
    const unreachable = new HttpInferenceClient({ url: gone.url, signingSecret: SECRET });
    await expect(unreachable.ready()).rejects.toMatchObject({ code: "upstream_unavailable" });

    const loading = await startWorker(undefined);
    try {
      const early = new HttpInferenceClient({ url: loading.url, signingSecret: SECRET });
      await expect(early.ready()).rejects.toMatchObject({
        code: "not_ready",
        status: 503,
        headers: { "retry-after": "5" },
      });
      await expect(client.ready()).resolves.toBeUndefined();
    } finally {
      await loading.close();
    }
  });

  describe("against a worker with a full, slow queue", () => {
    // The batching delay keeps a request queued while the test acts (warm-up pays it twice).
    let slow: ModelServer;
    let slowWorker: RunningWorker;
    beforeAll(async () => {
      slow = await openServer({ maxBatchRows: 16, maxDelayMs: 2_000, maxQueue: 1 });
      slowWorker = await startWorker(slow);
    });
    afterAll(async () => {
      await slowWorker.close();
      await slow.close();
    });
    const row = () => ({ data: voxels.data.slice(0, 40), shape: [1, 40] });
    const queued = () => slow.batchStats()[MODEL]!.queued;

    it("passes 503 overloaded with Retry-After through, and a caller's abort takes its request out of the queue", async () => {
      const remote = new HttpInferenceClient({ url: slowWorker.url, signingSecret: SECRET });
      const abort = new AbortController();
      const first = remote.embed(MODEL, row(), ["retrieval"], abort.signal);
      await expect.poll(queued).toBe(1);

      await expect(remote.embed(MODEL, row(), ["retrieval"])).rejects.toMatchObject({
        code: "overloaded",
        status: 503,
        headers: { "retry-after": "1" },
      });

      const batches = slow.batchStats()[MODEL]!.batches;
      abort.abort(new Error("the lab hung up"));
      await expect(first).rejects.toThrow("the lab hung up");
      // The worker saw the connection close and aborted the request's signal.
      await expect.poll(queued).toBe(0);
      expect(slow.batchStats()[MODEL]!.batches).toBe(batches);
    });

    it("gives up after its timeout, and the worker drops the request", async () => {
      const impatient = new HttpInferenceClient({
        url: slowWorker.url,
        signingSecret: SECRET,
        embedTimeoutMs: 300,
      });
      const batches = slow.batchStats()[MODEL]!.batches;
      await expect(impatient.embed(MODEL, row(), ["retrieval"])).rejects.toMatchObject({
        code: "upstream_unavailable",
        message: expect.stringContaining("did not answer within 300 ms"),
      });
      await expect.poll(queued).toBe(0);
      expect(slow.batchStats()[MODEL]!.batches).toBe(batches);
    });
  });
});
