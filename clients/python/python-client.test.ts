/**
 * The Python client as a lab gets it: installed from the repository path with Debian's pip into a venv of
 * Debian's python3 that sees Debian's numpy, requests and nibabel (offline: --no-build-isolation, and the
 * dependencies are already there), run against a live `mindeye serve` on sim01. Runs the
 * client's own tests (clients/python/tests) and docs/api.md's walk-through verbatim, with a control that
 * the walk-through's accuracy check has teeth.
 */
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiveServer, startLiveServer } from "../../cli/testing/live-server.ts";
import { ERROR_CODES } from "../../core/contracts/errors.ts";

const run = promisify(execFile);
const PYTHON = "/usr/bin/python3";
const CLIENT_SOURCE = path.resolve("clients/python");

let server: LiveServer;
let scratch: string;
let venvPython: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), "mindeye-python-"));
  const venv = path.join(scratch, "venv");
  venvPython = path.join(venv, "bin", "python");
  // Built from a copy, so pip's build/ and egg-info stay out of the working tree.
  const source = path.join(scratch, "source");
  await cp(CLIENT_SOURCE, source, { recursive: true, filter: (p) => !p.includes("__pycache__") });
  const install = async () => {
    await run(PYTHON, ["-m", "venv", "--system-site-packages", venv]);
    await run(venvPython, ["-m", "pip", "install", "-q", "--no-build-isolation", source]);
  };
  const [started] = await Promise.all([startLiveServer(), install()]);
  server = started;
}, 600_000);

afterAll(async () => {
  await server?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** The venv's python (the installed client and Debian's packages), in `cwd`. */
function python(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  return run(venvPython, args, {
    cwd,
    env: { ...server.env, PYTHONDONTWRITEBYTECODE: "1", ...env },
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: { code: number; stdout: string; stderr: string }) => error);
}

describe("mindeye_client installed with Debian's pip", () => {
  it("is the installed package, not the source folder, that runs", async () => {
    const result = await python(["-c", "import mindeye_client; print(mindeye_client.__file__)"], scratch);
    expect(result.stdout.trim()).toMatch(
      new RegExp(`^${scratch}/venv/lib/python3[.0-9]+/site-packages/mindeye_client/__init__.py$`),
    );
  });

  it("passes its tests against the live server", async () => {
    const codes = Object.fromEntries(Object.entries(ERROR_CODES).map(([code, { status }]) => [code, status]));
    const tests = path.join(CLIENT_SOURCE, "tests");
    const result = await python(["-m", "unittest", "discover", "-s", tests], scratch, {
      MINDEYE_SESSIONS: path.join(server.dataDir, "sim01", "sessions"),
      MINDEYE_ERROR_CODES: JSON.stringify(codes),
    });
    expect("code" in result ? result.code : 0, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/Ran \d+ tests[\s\S]*OK/);
  }, 300_000);
});

describe("docs/api.md's walk-through", () => {
  let rightTop1 = Number.NaN;

  async function walkThrough(): Promise<string> {
    const doc = await readFile("docs/api.md", "utf8");
    const script = /## A lab's script[^\n]*\n[\s\S]*?```python\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(script, "docs/api.md has a '## A lab's script' section with a python block").toBeTruthy();
    return script!;
  }

  async function runScript(script: string) {
    const dir = await mkdtemp(path.join(scratch, "walk-"));
    // The doc's first step: the held-out sessions, as `mindeye sim export-trials` writes them.
    await run(
      process.execPath,
      ["--import", "tsx", "cli/main.ts", "sim", "export-trials", "--out", path.join(dir, "sim01-sessions")],
      {
        env: server.env,
      },
    );
    await writeFile(path.join(dir, "walk_through.py"), script);
    const result = await python(["walk_through.py"], dir);
    expect("code" in result ? result.code : 0, `${result.stdout}\n${result.stderr}`).toBe(0);
    const top1 = /top-1 among 300 test images: ([\d.]+)%/.exec(result.stdout);
    expect(top1, result.stdout).not.toBeNull();
    return Number(top1![1]) / 100;
  }

  it("runs verbatim and retrieves the seen images far above chance (1/300)", async () => {
    rightTop1 = await runScript(await walkThrough());
    console.log(`walk-through top-1: ${rightTop1}`);
    expect(rightTop1).toBeGreaterThan(0.5);
  }, 300_000);

  it("measurably fails when a step is wrong: voxels taken in MATLAB's order instead of the mask's C order", async () => {
    const script = await walkThrough();
    const wrong = script.replace("volume[mask]", "volume.transpose(2, 1, 0, 3)[mask.T]");
    expect(wrong).not.toBe(script);
    const wrongTop1 = await runScript(wrong);
    console.log(`walk-through top-1 with voxels in Fortran order: ${wrongTop1}`);
    // Some voxels land on others of the ROI, so a little signal survives; far less than the right order's.
    expect(wrongTop1).toBeLessThan(0.15);
    expect(wrongTop1).toBeLessThan(rightTop1 / 4);
  }, 300_000);
});
