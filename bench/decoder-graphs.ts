/**
 * Full-width image-decoder graphs in ONNX Runtime against the FLOP floor of this machine: one UNet step at
 * batch 2 (a guided step for one sample), one VAE decode and one CLIP embedding at batch 1, each timed against
 * the rate of a large MatMul measured in the same run, with the MAC counts of reconstruction reference §8.2.
 *
 *   npx tsx bench/decoder-graphs.ts [--provider cpu|cuda] [--precision float32|float16] [--bundle DIR]
 *
 * Without --bundle it exports the three graphs with seeded random weights into os.tmpdir() once (float32:
 * 3.4 GB UNet, external data; the export's parity check runs each graph once in ORT and PyTorch).
 */
import { cpus, freemem, totalmem } from "node:os";
import { parseArgs } from "node:util";
import pkg from "onnx-proto";
import ort from "onnxruntime-node";
import { loadBundle } from "../gpu-worker/bundles/load-bundle.ts";
import { type ExecutionProvider, openSession } from "../gpu-worker/runtime/ort-session.ts";
import { ensureFullWidthBundle } from "./full-width-bundle.ts";

const { values: options } = parseArgs({
  options: {
    provider: { type: "string", default: "cpu" },
    precision: { type: "string", default: "float32" },
    bundle: { type: "string" },
    runs: { type: "string", default: "3" },
  },
});
const provider = options.provider as ExecutionProvider;
const precision = options.precision as "float32" | "float16";
const RUNS = Number(options.runs);

/** MACs per call (reference §8.2): SD-1.x UNet at 64x64 with 257 context tokens, VAE decoder 64->512, ViT-L/14. */
const CASES = [
  { graph: "unet", batch: 2, macsPerRow: 409e9, what: "UNet step, batch 2 (one guided sample)" },
  { graph: "vae_decoder", batch: 1, macsPerRow: 1.26e12, what: "VAE decode 64->512, batch 1" },
  { graph: "clip_image", batch: 1, macsPerRow: 80.9e9, what: "CLIP ViT-L/14, batch 1" },
] as const;

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

/** A one-node MatMul graph [n,n] x [n,n] with the right operand as a weight, as the networks' layers are. */
function matmulGraph(n: number, dtype: "float32" | "float16"): Uint8Array {
  const { onnx } = pkg;
  const type = dtype === "float32" ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.FLOAT16;
  const bytes = new Uint8Array(n * n * (dtype === "float32" ? 4 : 2));
  if (dtype === "float32") new Float32Array(bytes.buffer).fill(0.001);
  else new Uint16Array(bytes.buffer).fill(0x1419); // ~0.001 as float16
  const info = (name: string) => ({
    name,
    type: { tensorType: { elemType: type, shape: { dim: [{ dimValue: n }, { dimValue: n }] } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: "matmul",
      node: [{ opType: "MatMul", input: ["a", "w"], output: ["y"], name: "y" }],
      initializer: [{ name: "w", dims: [n, n], dataType: type, rawData: bytes }],
      input: [info("a")],
      output: [info("y")],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** FLOP/s of an n^3 MatMul (CPU n = 2048, GPU 8192) in this ORT, same threads, provider and precision. */
async function matmulRate(): Promise<number> {
  const n = provider === "cpu" ? 2048 : 8192;
  const session = await ort.InferenceSession.create(matmulGraph(n, precision), {
    executionProviders: provider === "cpu" ? ["cpu"] : [provider],
    intraOpNumThreads: cpus().length,
  });
  const a = new ort.Tensor(
    precision === "float32" ? "float32" : "float16",
    precision === "float32" ? new Float32Array(n * n).fill(1) : new Uint16Array(n * n).fill(0x3c00),
    [n, n],
  );
  await session.run({ a });
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    await session.run({ a });
    times.push(performance.now() - start);
  }
  await session.release();
  return (2 * n ** 3) / (median(times) / 1000);
}

function randomInput(shape: number[], graph: string, name: string): ort.Tensor {
  const count = shape.reduce((a, b) => a * b, 1);
  let seed = 7;
  const next = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  // timesteps 0..999, images in [0, 1] for CLIP, Gaussian-ish elsewhere
  const value =
    name === "timestep"
      ? () => Math.floor(next() * 1000)
      : graph === "clip_image"
        ? next
        : () => (next() + next() + next() - 1.5) * 2;
  return new ort.Tensor("float32", Float32Array.from({ length: count }, value), shape);
}

console.log(
  `decoder graphs bench: ${cpus().length} x ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM (${(freemem() / 2 ** 30).toFixed(0)} free), onnxruntime-node ${ort.env.versions.common}, provider ${provider}, ${precision}`,
);
const bundle = await loadBundle(
  options.bundle ??
    (await ensureFullWidthBundle(
      CASES.map((c) => c.graph),
      precision,
    )),
);
// the MatMul rate is measured again right before each graph: a shared machine's load changes within a run
console.log("| graph | parameters | MAC per call | median | MatMul rate | floor at that rate | vs floor |");
console.log("|---|---|---|---|---|---|---|");
for (const c of CASES) {
  const graph = bundle.graphs[c.graph];
  if (!graph) throw new Error(`bundle ${bundle.dir} has no ${c.graph} graph`);
  const opened = await openSession(graph.path, [provider], { intraOpThreads: cpus().length });
  const feeds: Record<string, ort.Tensor> = {};
  for (const spec of graph.inputs) {
    const shape = spec.shape.map((d) => (typeof d === "string" ? c.batch : d));
    feeds[spec.name] = randomInput(shape, c.graph, spec.name);
  }
  await opened.session.run(feeds);
  const rate = await matmulRate();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await opened.session.run(feeds);
    times.push(performance.now() - start);
  }
  await opened.session.release();
  const ms = median(times);
  const macs = c.macsPerRow * c.batch;
  const floorMs = ((2 * macs) / rate) * 1000;
  const parameters = bundle.manifest.graphs[c.graph]!.parameters.toLocaleString("en-US");
  console.log(
    `| ${c.what} | ${parameters} | ${(macs / 1e9).toFixed(0)} G | ${(ms / 1000).toFixed(2)} s | ${(rate / 1e9).toFixed(1)} GFLOP/s | ${(floorMs / 1000).toFixed(2)} s | ${(ms / floorMs).toFixed(2)}x |`,
  );
}
