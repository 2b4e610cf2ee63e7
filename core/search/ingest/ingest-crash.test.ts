import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServerDatabase } from "../../../test/helpers/databases.ts";
import { LocalVectorStore } from "../embedded/local-vector-store.ts";
import { writeLaionShards } from "../testing/laion-shards.ts";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SHARDS = 4;
const ROWS = 5000;
const DIM = 128;

let work: string;
let runner: string;
const dataset = () => path.join(work, "laion");

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "mindeye-ingest-crash-"));
  await writeLaionShards(dataset(), {
    shards: SHARDS,
    rowsPerShard: ROWS,
    dim: DIM,
    dtype: "float16",
    seed: 5,
    clusters: 50,
  });
  // The command as the CLI runs it, in its own process so that it can be SIGKILLed.
  runner = path.join(work, "run-ingest.mts");
  const command = pathToFileURL(path.join(REPO_ROOT, "cli/commands/ingest.ts")).href;
  await writeFile(
    runner,
    `import { ingestCommand } from ${JSON.stringify(command)};\nawait ingestCommand().parseAsync(process.argv.slice(2), { from: "user" });\n`,
  );
}, 120_000);
afterAll(() => rm(work, { recursive: true, force: true }));

function startIngest(env: Record<string, string>): {
  child: ChildProcess;
  stdout: Promise<string>;
  exit: Promise<number | null>;
} {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      runner,
      "--from",
      dataset(),
      "--index",
      "crash",
      "--batch-size",
      "500",
      "--no-progress",
    ],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, stdout: exit.then(() => out), exit };
}

/** Resolves when the child reports its first committed shard. */
function firstCommit(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      err += chunk.toString();
      if (err.includes('"event":"shard-committed"')) resolve();
    });
    child.on("exit", () => reject(new Error(`ingest exited before committing a shard:\n${err}`)));
  });
}

describe.each(["pglite", "postgres"] as const)(
  "ingest killed with SIGKILL half-way, progress on %s",
  (backend) => {
    it("resumes from the last committed shard and ends with every row exactly once", async () => {
      const dataDir = path.join(work, `data-${backend}`);
      const server = backend === "postgres" ? await createServerDatabase() : null;
      const env: Record<string, string> = {
        MINDEYE_DATA_DIR: dataDir,
        ...(server ? { DATABASE_URL: server.url } : {}),
      };
      try {
        const first = startIngest(env);
        await firstCommit(first.child);
        // Let it get into the next shard, then kill it without warning.
        await new Promise((r) => setTimeout(r, 300));
        first.child.kill("SIGKILL");
        await first.exit;

        const manifest = JSON.parse(
          await readFile(path.join(dataDir, "indexes/crash/manifest.json"), "utf8"),
        ) as { count: number };
        expect(manifest.count % ROWS).toBe(0); // only whole, committed shards are on disk
        expect(manifest.count).toBeGreaterThanOrEqual(ROWS);
        expect(manifest.count).toBeLessThan(SHARDS * ROWS);

        const second = startIngest(env);
        expect(await second.exit).toBe(0);
        const report = JSON.parse((await second.stdout).trim().split("\n").at(-1)!) as Record<string, number>;
        expect(report.shardsResumed).toBeGreaterThanOrEqual(1);
        expect(report.shardsResumed).toBeLessThan(SHARDS);
        expect(report.rowsStored).toBe(SHARDS * ROWS);
        expect(report.indexCount).toBe(SHARDS * ROWS);

        const index = await new LocalVectorStore(path.join(dataDir, "indexes")).open("crash");
        expect(await index.count()).toBe(SHARDS * ROWS);
      } finally {
        await server?.drop();
      }
    }, 180_000);
  },
);
