/**
 * The `mindeye` command as a user runs it, as a real process on a temp data dir: keys, and the embedded
 * server's start, graceful stop and restart. MODEL_BUNDLES points at the tiny bundle so the server does not
 * spend a minute generating sim01 (the e2e test covers that path).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const MAIN = path.resolve("cli/main.ts");
let dataDir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "mindeye-cli-"));
  env = {
    ...process.env,
    MINDEYE_DATA_DIR: dataDir,
    MODEL_BUNDLES: path.resolve("test/fixtures/bundles"),
    LOG_LEVEL: "warn",
  };
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

const mindeye = (...args: string[]) => run(process.execPath, ["--import", "tsx", MAIN, ...args], { env });

describe("mindeye keys", () => {
  it("creates a key printed once, lists it by prefix only, and revokes it", async () => {
    const created = await mindeye("keys", "create", "--lab", "lab-cli");
    const key = created.stdout.trim();
    expect(key).toMatch(/^mk_[A-Za-z0-9_-]{43}$/);
    const listed = (await mindeye("keys", "list")).stdout;
    expect(listed).toContain(`${key.slice(0, 11)}...`);
    expect(listed).not.toContain(key.slice(11));
    expect(listed).toContain("active");
    await mindeye("keys", "revoke", key.slice(0, 11));
    expect((await mindeye("keys", "list", "--lab", "lab-cli")).stdout).toContain("revoked");
  }, 60_000);

  it("says what is wrong with a bad setting instead of a stack trace", async () => {
    const failed = await run(process.execPath, ["--import", "tsx", MAIN, "keys", "list"], {
      env: { ...env, PORT: "not-a-port" },
    }).catch((error: { code: number; stderr: string }) => error);
    expect((failed as { code: number }).code).toBe(2);
    expect((failed as { stderr: string }).stderr).toMatch(/PORT/);
  }, 30_000);
});

describe("mindeye serve", () => {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const start = () =>
    spawn(process.execPath, ["--import", "tsx", MAIN, "serve"], {
      env: { ...env, PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
  const stopped = (child: ChildProcess) =>
    new Promise<number | null>((resolve) => child.once("exit", resolve));
  async function until(probe: () => Promise<boolean>, ms: number) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await probe().catch(() => false)) return true;
      await new Promise((r) => setTimeout(r, 200));
    }
    return false;
  }

  it("answers /healthz within 30 s, stops cleanly on SIGTERM, and restarts with everything intact", async () => {
    const first = start();
    let output = "";
    for (const stream of [first.stdout, first.stderr]) stream?.on("data", (chunk) => (output += chunk));
    const healthy = await until(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 30_000);
    expect(healthy).toBe(true);
    const keyFile = path.join(dataDir, "local-api-key");
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const key = (await readFile(keyFile, "utf8")).trim();
    // Not a terminal: the key stays out of the log stream (and anything else the process writes).
    expect(output).toContain(keyFile);
    expect(output).not.toContain(key);
    expect(await until(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, 30_000)).toBe(true);
    const created = await fetch(`http://127.0.0.1:${port}/v1/uploads`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ filename: "kept.npy", size: 128 }),
    });
    const { id } = (await created.json()) as { id: string };

    // The in-process batchers report on the API's /metrics, with the provider that really runs.
    const rows = async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toContain('mindeye_worker_model_info{model="mindeye1-subj01-tiny",provider="cpu"} 1');
      return Number(/mindeye_worker_batch_rows_total\{model="mindeye1-subj01-tiny"\} (\d+)/.exec(text)![1]);
    };
    const before = await rows();
    const embedded = await fetch(`http://127.0.0.1:${port}/v1/embeddings`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "mindeye1-subj01-tiny",
        betas: { values: [Array(40).fill(0.5), Array(40).fill(0.1)] },
      }),
    });
    expect(embedded.status).toBe(200);
    expect(await rows()).toBe(before + 2);

    first.kill("SIGTERM");
    expect(await stopped(first)).toBe(0);

    const second = start();
    expect(await until(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 30_000)).toBe(true);
    const again = await fetch(`http://127.0.0.1:${port}/v1/uploads/${id}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(again.status).toBe(200);
    second.kill("SIGTERM");
    expect(await stopped(second)).toBe(0);
  }, 120_000);
});
