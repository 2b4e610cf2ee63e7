import path from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  decodeTensorFrame,
  SHAPE_HEADER,
  TENSOR_FRAME_TYPE,
  workerAuthToken,
} from "../../core/inference/worker-protocol.ts";
import { readNpy } from "../../core/npy/index.ts";
import type { BatcherOptions } from "../runtime/dynamic-batcher.ts";
import { ModelServer } from "../runtime/model-server.ts";
import { ServedModels } from "./served-models.ts";
import { createWorkerApp } from "./worker-app.ts";
import { WorkerMetrics } from "./worker-metrics.ts";

const BUNDLE = path.resolve("test/fixtures/bundles/mindeye1-subj01-tiny");
const MODEL = "mindeye1-subj01-tiny";
const SECRET = "worker-test-signing-secret-of-32-chars!";
const log = pino({ level: "silent" });

const openServer = (batch: BatcherOptions) =>
  ModelServer.open({ bundleDirs: [BUNDLE], providers: ["cpu"], batch, log });

function workerOn(server: ModelServer | undefined, token: string, maxBodyBytes?: number) {
  const models = new ServedModels();
  models.set(server);
  const metrics = new WorkerMetrics(() => models.peek()?.batchStats());
  return { models, app: createWorkerApp({ models, authToken: token, metrics, log, maxBodyBytes }) };
}

const bytesOf = (data: Float32Array) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

let server: ModelServer;
let token: string;
let auth: { authorization: string };
let voxels: Awaited<ReturnType<typeof readNpy>>;
beforeAll(async () => {
  server = await openServer({ maxBatchRows: 16, maxDelayMs: 0, maxQueue: 64 });
  token = await workerAuthToken(SECRET);
  auth = { authorization: `Bearer ${token}` };
  voxels = await readNpy(path.join(BUNDLE, "parity/voxel2clip/voxels.npy"));
});
afterAll(() => server.close());

function embedRequest(
  body: Uint8Array,
  shape: string,
  outputs = "backbone,retrieval",
  init: RequestInit = {},
) {
  return new Request(`http://worker/v2/models/${MODEL}/embed`, {
    method: "POST",
    body,
    headers: {
      ...auth,
      "content-type": "application/octet-stream",
      [SHAPE_HEADER]: shape,
      "x-outputs": outputs,
    },
    ...init,
  });
}

describe("worker health", () => {
  it("is live at once, and ready only once models are loaded", async () => {
    const { app, models } = workerOn(undefined, token);
    expect((await app.request("/v2/health/live")).status).toBe(200);
    const notReady = await app.request("/v2/health/ready");
    expect(notReady.status).toBe(503);
    expect(notReady.headers.get("content-type")).toBe("application/problem+json");
    expect(notReady.headers.get("retry-after")).toBe("5");
    expect(await notReady.json()).toMatchObject({ code: "not_ready", status: 503 });
    const embed = await app.request(embedRequest(new Uint8Array(160), "1,40"));
    expect(embed.status).toBe(503);

    models.set(server);
    const ready = await app.request("/v2/health/ready");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true });
    expect((await app.request(`/v2/models/${MODEL}/ready`, { headers: auth })).status).toBe(200);
  });
});

describe("worker auth", () => {
  it("refuses model routes without the API's token, and leaves probes and /metrics open", async () => {
    const { app } = workerOn(server, token);
    const refused: Record<string, string>[] = [
      {},
      { authorization: "Bearer wrong" },
      { authorization: `Bearer ${SECRET}` },
    ];
    for (const headers of refused) {
      const res = await app.request("/v2/models", { headers });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: "unauthorized" });
    }
    expect((await app.request("/v2/models", { headers: auth })).status).toBe(200);
    expect((await app.request("/metrics")).status).toBe(200);
  });
});

describe("worker models", () => {
  it("describes the models as the in-process server does", async () => {
    const { app } = workerOn(server, token);
    expect(await (await app.request("/v2/models", { headers: auth })).json()).toEqual({
      models: await server.listModels(),
    });
    expect(await (await app.request(`/v2/models/${MODEL}`, { headers: auth })).json()).toEqual(
      await server.getModel(MODEL),
    );
  });

  it("serves the mask as raw uint8 with the grid in x-tensor-shape", async () => {
    const { app } = workerOn(server, token);
    const res = await app.request(`/v2/models/${MODEL}/mask`, { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers.get(SHAPE_HEADER)).toBe("4,5,6");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(await server.getMask(MODEL));
  });

  it("answers an unknown model with a 404 model_not_found problem", async () => {
    const { app } = workerOn(server, token);
    for (const res of [
      await app.request("/v2/models/nope", { headers: auth }),
      await app.request("/v2/models/nope/mask", { headers: auth }),
      await app.request(
        new Request("http://worker/v2/models/nope/embed", {
          method: "POST",
          body: new Uint8Array(160),
          headers: { ...auth, [SHAPE_HEADER]: "1,40" },
        }),
      ),
    ]) {
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(await res.json()).toMatchObject({ code: "model_not_found", status: 404 });
    }
  });
});

describe("worker embed", () => {
  it("returns exactly the in-process outputs, framed, with the batcher's timings", async () => {
    const { app } = workerOn(server, token);
    const res = await app.request(embedRequest(bytesOf(voxels.data), voxels.shape.join(",")));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(TENSOR_FRAME_TYPE);
    expect(Number(res.headers.get("x-batch-size"))).toBe(voxels.shape[0]);
    expect(Number(res.headers.get("x-queue-ms"))).toBeGreaterThanOrEqual(0);
    expect(Number(res.headers.get("x-run-ms"))).toBeGreaterThan(0);
    const tensors = decodeTensorFrame(await res.arrayBuffer());

    const inProcess = await server.embed(MODEL, voxels, ["backbone", "retrieval"]);
    expect(Object.keys(tensors)).toEqual(["backbone", "retrieval"]);
    for (const name of ["backbone", "retrieval"] as const) {
      expect(tensors[name]!.shape).toEqual(inProcess.outputs[name]!.shape);
      expect(tensors[name]!.data).toEqual(inProcess.outputs[name]!.data);
    }
  });

  it("returns only the outputs asked for", async () => {
    const { app } = workerOn(server, token);
    const res = await app.request(embedRequest(bytesOf(voxels.data), voxels.shape.join(","), "retrieval"));
    expect(Object.keys(decodeTensorFrame(await res.arrayBuffer()))).toEqual(["retrieval"]);
  });

  it("refuses a wrong voxel count with 422, and malformed requests with 400 and 413", async () => {
    const { app } = workerOn(server, token, 4096);
    const wrongWidth = await app.request(embedRequest(new Uint8Array(2 * 39 * 4), "2,39"));
    expect(wrongWidth.status).toBe(422);
    expect(await wrongWidth.json()).toMatchObject({ code: "voxel_count_mismatch" });

    for (const [body, shape, outputs] of [
      [new Uint8Array(160), "1,40,1", "retrieval"],
      [new Uint8Array(160), "one,40", "retrieval"],
      [new Uint8Array(156), "1,40", "retrieval"],
      [new Uint8Array(160), "1,40", "retrieval,pixels"],
    ] as const) {
      const res = await app.request(embedRequest(body, shape, outputs));
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: "invalid_request" });
    }
    const tooLarge = await app.request(embedRequest(new Uint8Array(40 * 40 * 4), "40,40"));
    expect(tooLarge.status).toBe(413);
    expect(await tooLarge.json()).toMatchObject({ code: "payload_too_large" });
  });

  it("passes the batcher's 503 and Retry-After through, and drops an aborted request from the queue", async () => {
    // The batching delay keeps the first request queued while the others arrive (warm-up pays it twice).
    const slow = await openServer({ maxBatchRows: 16, maxDelayMs: 2_000, maxQueue: 1 });
    try {
      const { app } = workerOn(slow, token);
      const row = bytesOf(voxels.data.slice(0, 40));
      const abort = new AbortController();
      const queued = app.request(embedRequest(row, "1,40", "retrieval", { signal: abort.signal }));
      await expect.poll(() => slow.batchStats()[MODEL]!.queued).toBe(1);

      const refused = await app.request(embedRequest(row, "1,40"));
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("1");
      expect(await refused.json()).toMatchObject({ code: "overloaded" });

      const batchesBefore = slow.batchStats()[MODEL]!.batches;
      abort.abort();
      expect((await queued).status).toBe(499);
      expect(slow.batchStats()[MODEL]).toMatchObject({ queued: 0, batches: batchesBefore });
    } finally {
      await slow.close();
    }
  });
});

describe("worker metrics", () => {
  it("exports batch sizes, queue depth, provider per model and request latency", async () => {
    const { app } = workerOn(server, token);
    await app.request(embedRequest(bytesOf(voxels.data), voxels.shape.join(",")));
    const text = await (await app.request("/metrics")).text();
    expect(text).toContain(`mindeye_worker_model_info{model="${MODEL}",provider="cpu"} 1`);
    expect(text).toContain(`mindeye_worker_queue_depth{model="${MODEL}"} 0`);
    expect(text).toMatch(new RegExp(`mindeye_worker_embed_batch_size_count\\{model="${MODEL}"\\} 1`));
    expect(text).toMatch(/mindeye_worker_batches_total\{model="mindeye1-subj01-tiny"\} [1-9]/);
    expect(text).toContain(
      'mindeye_worker_request_duration_seconds_count{method="POST",route="/v2/models/:id/embed",status="200"} 1',
    );
  });
});
