/** Runs gpu-worker/export with Debian's Python (the interpreter that has torch and onnx), for tests and benches. */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const PYTHON = process.env.MINDEYE_EXPORT_PYTHON ?? "/usr/bin/python3";

export async function runExporter(
  script: "export.py" | "make_test_bundles.py" | "compare_bundles.py" | "weightless_checks.py",
  args: string[],
): Promise<string> {
  const { stdout } = await run(PYTHON, [`gpu-worker/export/${script}`, ...args], {
    cwd: REPO_ROOT,
    maxBuffer: 64 << 20,
  });
  return stdout;
}
