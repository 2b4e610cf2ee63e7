import { type ChildProcess, spawn } from "node:child_process";
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { sharedSim01 } from "../../test/helpers/sim01-cache.ts";

const MAIN = path.resolve("cli/main.ts");

export interface LiveServer {
  url: string;
  key: string;
  dataDir: string;
  /** What a lab's process needs to reach it: MINDEYE_API_URL, MINDEYE_API_KEY, MINDEYE_DATA_DIR. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/**
 * `mindeye serve --port --data-dir` as a user starts it, on a temp data dir seeded with the shared sim01
 * (generated once per machine), so the first start only builds the stimulus index. `addBundles` may write
 * more bundle folders beside sim01's before the start. Resolves once /readyz says ready; a server that
 * exits first fails with its output.
 */
export async function startLiveServer(
  options: { addBundles?: (bundlesDir: string) => Promise<unknown> } = {},
): Promise<LiveServer> {
  const sim = await sharedSim01();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "mindeye-live-"));
  await cp(path.join(sim.dataDir, "bundles"), path.join(dataDir, "bundles"), { recursive: true });
  await options.addBundles?.(path.join(dataDir, "bundles"));
  await cp(path.join(sim.dataDir, "sim01"), path.join(dataDir, "sim01"), { recursive: true });
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const { MODEL_BUNDLES: _bundles, MINDEYE_DATA_DIR: _dir, PORT: _port, ...inherited } = process.env;
  const child = spawn(
    process.execPath,
    ["--import", "tsx", MAIN, "serve", "--port", String(port), "--data-dir", dataDir],
    { env: { ...inherited, LOG_LEVEL: "warn" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  try {
    await ready(child, url, () => output);
  } catch (error) {
    child.kill("SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const key = (await readFile(path.join(dataDir, "local-api-key"), "utf8")).trim();
  return {
    url,
    key,
    dataDir,
    env: { ...inherited, MINDEYE_API_URL: url, MINDEYE_API_KEY: key, MINDEYE_DATA_DIR: dataDir },
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function ready(child: ChildProcess, url: string, output: () => string): Promise<void> {
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`mindeye serve exited (${child.exitCode}):\n${output()}`);
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`mindeye serve was not ready within 300 s:\n${output()}`);
}
