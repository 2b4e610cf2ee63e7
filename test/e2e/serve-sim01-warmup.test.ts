/**
 * `mindeye serve` on a fresh data dir without MODEL_BUNDLES generates sim01 on first start. The generation
 * runs in a worker thread, so the server answers /healthz throughout, SIGTERM stops it at once (not after
 * the minute the generation takes), and the next start generates again from scratch: a cut-short
 * generation leaves no completion marker. Completing a generation is covered wherever sim01 is used
 * (test/helpers/sim01-cache.ts goes through the same worker thread).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { access, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const MAIN = path.resolve("cli/main.ts");
const port = 20_000 + Math.floor(Math.random() * 20_000);
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "mindeye-warmup-"));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

function start(): { child: ChildProcess; lines: Record<string, unknown>[]; exited: Promise<number | null> } {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MINDEYE_DATA_DIR: dataDir,
    PORT: String(port),
    LOG_LEVEL: "info",
  };
  delete env.MODEL_BUNDLES;
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "serve"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Record<string, unknown>[] = [];
  let pending = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    const complete = pending.split("\n");
    pending = complete.pop()!;
    for (const line of complete) {
      if (line.startsWith("{")) lines.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  child.stderr!.resume();
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { child, lines, exited };
}

const get = (pathname: string) =>
  fetch(`http://127.0.0.1:${port}${pathname}`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status);

async function until(probe: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** Every /healthz poll answers 200 while /readyz says the models are still loading. */
async function healthyWhileGenerating(polls: number): Promise<void> {
  for (let i = 0; i < polls; i++) {
    expect(await get("/healthz")).toBe(200);
    expect(await get("/readyz")).toBe(503);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("mindeye serve while sim01 is generated", () => {
  it("answers /healthz throughout, stops promptly on SIGTERM, and generates again on restart", async () => {
    const generating = (lines: Record<string, unknown>[]) =>
      lines.some((l) => String(l.msg).startsWith("sim01: generating"));
    const first = start();
    expect(await until(async () => generating(first.lines) && (await get("/healthz")) === 200, 150_000)).toBe(
      true,
    );
    // Into the world build and the ridge fit, which used to block the event loop for about a minute.
    await healthyWhileGenerating(20);
    const errors = first.lines.filter((l) => Number(l.level) >= 50);
    expect(errors, "warm-up 503s are not logged as errors").toEqual([]);

    first.child.kill("SIGTERM");
    const stopped = await Promise.race([
      first.exited,
      new Promise<"still running">((r) => setTimeout(() => r("still running"), 20_000)),
    ]);
    expect(stopped).toBe(0);
    const marker = path.join(dataDir, "sim01", "complete.json");
    expect(
      await access(marker).then(
        () => "present",
        () => "absent",
      ),
    ).toBe("absent");

    const second = start();
    try {
      expect(
        await until(async () => generating(second.lines) && (await get("/healthz")) === 200, 150_000),
      ).toBe(true);
      expect(second.lines.some((l) => String(l.msg).startsWith("sim01: reusing"))).toBe(false);
      await healthyWhileGenerating(4);
    } finally {
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);
    }
  }, 420_000);
});
