import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness, TINY_MODEL } from "../../test/helpers/harness.ts";
import type { InferenceService } from "../inference/inference.ts";
import type { Reconstructor } from "../inference/reconstructor.ts";
import { type JobRuntimeDeps, startJobRuntime } from "./job-runtime.ts";
import { type Receiver, startReceiver } from "./test-support/receiver.ts";

const config: JobRuntimeDeps["config"] = {
  JOB_CONCURRENCY: 1,
  JOB_LEASE_SECONDS: 30,
  JOB_MAX_RUNNING_PER_LAB: 4,
  DECODED_MAX_BYTES: 64 * 1024 ** 2,
  WEBHOOK_ALLOW_PRIVATE: true,
  WEBHOOK_ALLOW_HTTP: true,
};

let h: Harness;
let key: string;
let receiver: Receiver;
beforeAll(async () => {
  h = await createHarness();
  key = await h.keyFor("lab-runtime");
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
  await h.close();
});

// The harness serves a ModelServer, which reconstructs too.
const models = () => h.services.inference as InferenceService & Reconstructor;
const deps = (models: Promise<InferenceService & Reconstructor>): JobRuntimeDeps => {
  const { db, uploads, blobs, vectors } = h.services;
  return { config, db, uploads, blobs, vectors, models, log: { info() {}, warn() {}, error() {} } };
};
async function submit(webhook?: string): Promise<string> {
  const res = await h.request("/v1/embeddings", {
    method: "POST",
    key,
    headers: { "content-type": "application/json", prefer: "respond-async" },
    body: JSON.stringify({
      model: TINY_MODEL,
      betas: { values: [Array(40).fill(0.25), Array(40).fill(-0.5)] },
      ...(webhook ? { webhook: { url: webhook } } : {}),
    }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}
const statusOf = async (id: string) =>
  ((await (await h.request(`/v1/jobs/${id}`, { key })).json()) as { status: string }).status;

describe("the job runtime", () => {
  it("claims jobs only once the models are loaded, so none fails while they load", async () => {
    let loaded!: (models: InferenceService & Reconstructor) => void;
    const runtime = await startJobRuntime(deps(new Promise((resolve) => (loaded = resolve))));
    try {
      const id = await submit();
      await sleep(1500);
      expect(await statusOf(id)).toBe("queued");
      loaded(models());
      await expect.poll(() => statusOf(id), { timeout: 20_000 }).toBe("succeeded");
    } finally {
      await runtime.stop();
    }
  });

  it("with jobs switched off runs none, while its dispatcher still sends the webhooks", async () => {
    const runtime = await startJobRuntime(deps(Promise.resolve(models())), {
      jobs: false,
      webhooks: true,
      sweep: false,
    });
    try {
      const id = await submit(receiver.url);
      await sleep(1500);
      expect(await statusOf(id)).toBe("queued");
      expect((await h.request(`/v1/jobs/${id}/cancel`, { method: "POST", key })).status).toBe(200);
      await expect
        .poll(() => receiver.received.map((r) => r.type), { timeout: 20_000 })
        .toContain("job.canceled");
    } finally {
      await runtime.stop();
    }
  });

  it("stops cleanly when stopped before the models ever arrive", async () => {
    const runtime = await startJobRuntime(deps(new Promise(() => {})));
    await expect(runtime.stop()).resolves.toBeUndefined();
  });
});
