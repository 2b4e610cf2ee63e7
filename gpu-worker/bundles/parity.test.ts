import { join } from "node:path";
import ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import type { GraphName } from "../../core/contracts/bundle-manifest.ts";
import { type Float32Npy, readNpy } from "../../core/npy/index.ts";
import { loadBundle } from "./load-bundle.ts";
import { REPO_ROOT } from "./python-exporter.ts";

const BUNDLES = ["mindeye1-subj01-tiny", "mindeye1-subj01-tiny-fp16", "mindeye1-1x768-subj01-tiny"];
const FLOAT32_LIMIT = 1e-4;
const measured: string[] = [];

function maxAbsError(actual: Float32Array, expected: Float32Array): number {
  let max = 0;
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(actual[i]! - expected[i]!));
  return max;
}

/** The first row of a batched array, keeping the batch dim. */
function firstRow(array: Float32Npy): Float32Npy {
  const rowLength = array.data.length / array.shape[0]!;
  return { ...array, shape: [1, ...array.shape.slice(1)], data: array.data.slice(0, rowLength) };
}

afterAll(() => {
  console.log(`ONNX Runtime (Node) vs PyTorch, max abs error:\n  ${measured.join("\n  ")}`);
});

describe.each(BUNDLES)("ONNX Runtime reproduces PyTorch on %s", (bundleName) => {
  it("on every graph, at the exported batch and at batch 1", async () => {
    const bundle = await loadBundle(join(REPO_ROOT, "test/fixtures/bundles", bundleName));
    const graphNames = Object.keys(bundle.graphs) as GraphName[];
    expect(graphNames.length).toBeGreaterThan(0);
    for (const name of graphNames) {
      const graph = bundle.graphs[name]!;
      const parity = bundle.manifest.parity?.[name];
      if (!parity) throw new Error(`${bundleName}: no parity case for ${name}`);
      const session = await ort.InferenceSession.create(graph.path, { intraOpNumThreads: 1 });
      try {
        const inputs: Record<string, Float32Npy> = {};
        for (const [input, file] of Object.entries(parity.inputs))
          inputs[input] = await readNpy(join(bundle.dir, file));
        for (const batch of ["full", "one"] as const) {
          const feeds: Record<string, ort.Tensor> = {};
          for (const [input, array] of Object.entries(inputs)) {
            const fed = batch === "full" ? array : firstRow(array);
            feeds[input] = new ort.Tensor("float32", fed.data, fed.shape);
          }
          const results = await session.run(feeds);
          for (const [output, file] of Object.entries(parity.outputs)) {
            const expectedFull = await readNpy(join(bundle.dir, file));
            const expected = batch === "full" ? expectedFull : firstRow(expectedFull);
            const actual = results[output]!;
            expect(actual.dims).toEqual(expected.shape);
            const error = maxAbsError(actual.data as Float32Array, expected.data);
            measured.push(
              `${bundleName} ${name}.${output} (batch ${expected.shape[0]}): ${error.toExponential(2)}`,
            );
            const float32 = bundle.manifest.graphs[name]!.precision === "float32";
            const limit = float32 ? FLOAT32_LIMIT : parity.tolerance[output]!;
            expect(error, `${name}.${output}`).toBeLessThanOrEqual(limit);
          }
        }
      } finally {
        await session.release();
      }
    }
  }, 300_000);
});
