import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runExporter } from "../gpu-worker/bundles/python-exporter.ts";

/**
 * The full-width MindEye1 voxel2clip of subject 1 (15,724 voxels, random weights), exported once into
 * os.tmpdir() (3.8 GB float32, 1.9 GB float16) and reused by every benchmark that needs it.
 */
export async function ensureFullWidthBundle(precision: "float32" | "float16"): Promise<string> {
  const dir = join(tmpdir(), `mindeye-bench-voxel2clip-${precision}`);
  if (existsSync(join(dir, "manifest.json"))) return dir;
  const args = [
    "--family",
    "mindeye1",
    "--subject",
    "1",
    "--config",
    "full",
    "--random-init",
    "--graphs",
    "voxel2clip",
  ];
  const started = performance.now();
  await runExporter("export.py", [...args, ...(precision === "float16" ? ["--fp16"] : []), "--out", dir]);
  console.log(
    `exported ${precision} in ${((performance.now() - started) / 1000).toFixed(0)} s (with its parity check)`,
  );
  return dir;
}
