import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runExporter } from "../gpu-worker/bundles/python-exporter.ts";

export type Precision = "float32" | "float16";

/**
 * A full-width MindEye1 subject-1 bundle with seeded random weights and the named graphs, exported once
 * into os.tmpdir() and reused by every benchmark that asks for the same graphs and precision (voxel2clip
 * alone is 3.8 GB float32; the UNet 3.4 GB, and its export peaks near 17 GB of RAM).
 */
export async function ensureFullWidthBundle(
  graphs: readonly string[],
  precision: Precision,
): Promise<string> {
  const dir = join(tmpdir(), `mindeye-bench-${graphs.join("+")}-${precision}`);
  if (existsSync(join(dir, "manifest.json"))) return dir;
  const args = ["--family", "mindeye1", "--subject", "1", "--config", "full", "--random-init"];
  args.push("--graphs", graphs.join(","), "--out", dir);
  const started = performance.now();
  await runExporter("export.py", precision === "float16" ? [...args, "--fp16"] : args);
  const seconds = (performance.now() - started) / 1000;
  console.log(`exported ${graphs.join(", ")} (${precision}) in ${seconds.toFixed(0)} s, with parity checks`);
  return dir;
}
