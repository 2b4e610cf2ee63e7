import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, unlink, writeFile } from "node:fs/promises";
import path from "node:path";

/** Reads a secret kept in the data dir, creating it (mode 600) on first use. */
export async function readOrCreateSecret(
  dataDir: string,
  name: string,
  create = () => randomBytes(32).toString("hex"),
) {
  const file = path.join(dataDir, name);
  try {
    return (await readFile(file, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const value = create();
  await writeFile(file, `${value}\n`, { mode: 0o600, flag: "wx" });
  return value;
}

export class DataDirInUseError extends Error {
  override name = "DataDirInUseError";
}

/**
 * PGlite is one process's database: a pid file marks the data dir as held, so a second server or a CLI
 * command fails with a clear message instead of corrupting it. A stale file (dead pid) is taken over.
 */
export async function holdDataDir(dataDir: string): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true });
  const file = path.join(dataDir, "embedded.pid");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => unlink(file).catch(() => {});
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const pid = Number((await readFile(file, "utf8").catch(() => "")).trim());
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new DataDirInUseError(
          `The embedded database in ${dataDir} is in use by process ${pid} (mindeye serve). ` +
            "Stop it first, or point DATABASE_URL at a PostgreSQL server that several processes can share.",
        );
      }
      await unlink(file).catch(() => {});
    }
  }
  throw new DataDirInUseError(`Could not take ${file}.`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
