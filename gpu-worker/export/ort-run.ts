/**
 * Runs one ONNX graph in onnxruntime-node for the Python exporter's parity check (Python has no ORT here).
 * Usage: node --import tsx gpu-worker/export/ort-run.ts job.json
 * job.json: {"model": path, "inputs": {name: npy path}, "outputs": {name: npy path to write}}
 */
import { readFile } from "node:fs/promises";
import ort from "onnxruntime-node";
import { readNpy, writeNpy } from "../../core/npy/index.ts";

interface Job {
  model: string;
  inputs: Record<string, string>;
  outputs: Record<string, string>;
}

const job = JSON.parse(await readFile(process.argv[2]!, "utf8")) as Job;
// One thread: the same result on any machine, so committed test bundles do not depend on core counts.
const session = await ort.InferenceSession.create(job.model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
const feeds: Record<string, ort.Tensor> = {};
for (const [name, path] of Object.entries(job.inputs)) {
  const array = await readNpy(path);
  feeds[name] = new ort.Tensor(array.dtype, array.data, array.shape);
}
const results = await session.run(feeds);
for (const [name, path] of Object.entries(job.outputs)) {
  const tensor = results[name];
  if (!tensor) throw new Error(`graph has no output ${name}`);
  await writeNpy(path, { dtype: "float32", shape: [...tensor.dims], data: tensor.data as Float32Array });
}
await session.release();
