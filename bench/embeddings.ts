/**
 * POST /v1/embeddings under concurrent single-trial load on the full-width voxel2clip (CPU): requests/s with
 * the dynamic batcher against the same server at batch size 1, and end-to-end p50/p99 against the bare ORT
 * call, all in one run. Also picks the batcher defaults: it sweeps max batch size at 2 ms queue delay.
 *
 *   npx tsx bench/embeddings.ts            (BENCH_REQUESTS, BENCH_CONCURRENCY to change the load)
 */
import ort from "onnxruntime-node";
import pino from "pino";
import { ModelServer } from "../gpu-worker/runtime/model-server.ts";
import { createHarness } from "../test/helpers/harness.ts";
import { ensureFullWidthBundle } from "./full-width-bundle.ts";
import { fmt, machineLine, measure } from "./harness.ts";

const VOXELS = 15_724;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 96);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);

const dir = await ensureFullWidthBundle(["voxel2clip"], "float32");
const row = Float32Array.from({ length: VOXELS }, (_, i) => Math.sin(i));
const body = JSON.stringify({
  model: "mindeye1-subj01",
  betas: { base64: Buffer.from(row.buffer).toString("base64"), dtype: "float32", shape: [1, VOXELS] },
  outputs: ["retrieval"],
  encoding: "base64",
});

console.log(`# Embeddings through the API, full-width voxel2clip (float32, CPU) — ${machineLine()}`);
console.log(`${REQUESTS} single-trial requests, ${CONCURRENCY} in flight\n`);

const session = await ort.InferenceSession.create(`${dir}/voxel2clip.onnx`);
const input = { voxels: new ort.Tensor("float32", row, [1, VOXELS]) };
const bare = await measure(() => session.run(input), 20);
await session.release();
console.log(
  `bare ORT session.run, batch 1, sequential: p50 ${fmt(bare.p50Ms)} ms, p99 ${fmt(bare.p99Ms)} ms, ${fmt(bare.perSecond)} calls/s\n`,
);

console.log(
  "| max batch | delay ms | req/s | vs batch 1 | p50 ms | p99 ms | p50 vs bare ORT | largest batch |",
);
console.log("|---|---|---|---|---|---|---|---|");
let baseline = 0;
for (const [maxBatchRows, maxDelayMs] of [
  [1, 0],
  [8, 2],
  [16, 2],
  [32, 2],
] as const) {
  const models = await ModelServer.open({
    bundleDirs: [dir],
    providers: ["cpu"],
    batch: { maxBatchRows, maxDelayMs, maxQueue: 1024 },
    log: pino({ level: "silent" }),
  });
  const h = await createHarness(() => ({ inference: models }));
  const key = await h.keyFor("bench");
  const timing = await measure(
    async () => {
      const res = await h.request("/v1/embeddings", {
        method: "POST",
        key,
        headers: { "content-type": "application/json" },
        body,
      });
      if (res.status !== 200) throw new Error(`${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    },
    REQUESTS,
    CONCURRENCY,
  );
  if (maxBatchRows === 1) baseline = timing.perSecond;
  const [stats] = Object.values(models.batchStats());
  console.log(
    `| ${maxBatchRows} | ${maxDelayMs} | ${fmt(timing.perSecond)} | ${fmt(timing.perSecond / baseline)} | ${fmt(timing.p50Ms, 0)} | ${fmt(timing.p99Ms, 0)} | ${fmt(timing.p50Ms / bare.p50Ms)} | ${stats?.largestBatch} |`,
  );
  await h.close();
  await models.close();
}
