import { stat } from "node:fs/promises";
import { cpus, freemem, totalmem } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { readNpy } from "../core/npy/index.ts";
import { type LoadedBundle, loadBundle } from "../gpu-worker/bundles/load-bundle.ts";
import { ensureFullWidthBundle } from "./full-width-bundle.ts";

const VOXELS = 15_724;
const RUNS = 10;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Bytes per second of a plain Buffer copy: reads and writes as much as a one-pass read of the weights. */
function copyBandwidth(): number {
  const size = 1 << 30;
  const source = Buffer.alloc(size, 1);
  const target = Buffer.allocUnsafe(size);
  source.copy(target);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    source.copy(target);
    times.push(performance.now() - start);
  }
  return size / (median(times) / 1000);
}

/** Max abs error of this session against the PyTorch outputs the exporter stored in the bundle. */
async function parityError(bundle: LoadedBundle, session: ort.InferenceSession): Promise<string> {
  const parity = bundle.manifest.parity?.voxel2clip;
  if (!parity) return "no parity case in the bundle";
  const voxels = await readNpy(join(bundle.dir, parity.inputs.voxels!));
  const results = await session.run({ voxels: new ort.Tensor("float32", voxels.data, voxels.shape) });
  const errors = [];
  for (const [name, file] of Object.entries(parity.outputs)) {
    const expected = (await readNpy(join(bundle.dir, file))).data;
    const actual = results[name]!.data as Float32Array;
    let max = 0;
    for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(actual[i]! - expected[i]!));
    errors.push(`${name} ${max.toExponential(2)}`);
  }
  return `max abs error vs PyTorch (batch ${voxels.shape[0]}): ${errors.join(", ")}`;
}

async function bench(precision: "float32" | "float16", bandwidth: number): Promise<void> {
  const bundle = await loadBundle(await ensureFullWidthBundle(["voxel2clip"], precision));
  const graph = bundle.graphs.voxel2clip!;
  let weightBytes = 0;
  for (const file of [graph.path, ...graph.externalData]) weightBytes += (await stat(file)).size;
  const loadStart = performance.now();
  const session = await ort.InferenceSession.create(graph.path, { intraOpNumThreads: cpus().length });
  const loadMs = performance.now() - loadStart;
  const floorMs = (weightBytes / bandwidth) * 1000;
  console.log(
    `\n${precision}: ${(weightBytes / 1e9).toFixed(2)} GB of weights, session load ${(loadMs / 1000).toFixed(1)} s, floor ${floorMs.toFixed(1)} ms`,
  );
  console.log(`  ${await parityError(bundle, session)}`);
  for (const batch of [1, 8]) {
    const voxels = new Float32Array(batch * VOXELS).map(() => Math.random() * 2 - 1);
    const feeds = { voxels: new ort.Tensor("float32", voxels, [batch, VOXELS]) };
    await session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const start = performance.now();
      await session.run(feeds);
      times.push(performance.now() - start);
    }
    const ms = median(times);
    console.log(
      `  batch ${batch}: median ${ms.toFixed(1)} ms (${(ms / batch).toFixed(1)} ms/sample), ${(ms / floorMs).toFixed(2)}x the bandwidth floor`,
    );
  }
  await session.release();
}

const bandwidth = copyBandwidth();
console.log(
  `voxel2clip bench: ${cpus().length} x ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM (${(freemem() / 2 ** 30).toFixed(0)} free), onnxruntime-node ${ort.env.versions.common}`,
);
console.log(`Buffer copy bandwidth: ${(bandwidth / 1e9).toFixed(2)} GB/s (1 GiB copy, median of 5)`);
for (const precision of ["float32", "float16"] as const) await bench(precision, bandwidth);
