import { createWriteStream } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import type { BlobStore } from "../storage/blob-store.ts";
import { LocalBlobStore } from "../storage/local-blob-store.ts";

/** Temp copies are named after their process, so a later start can tell a dead one's leftovers. */
const COPY_PREFIX = "mindeye-upload-";

let staleSwept: Promise<unknown> | undefined;

/**
 * Runs `use` on a file holding the blob: the readers need random access (HDF5, zip central directories).
 * The local folder store's own file is read in place; other stores' blobs are streamed to a private temp
 * file (never held in memory) that is removed afterwards, and the first call in a process removes copies
 * that crashed processes left behind.
 */
export async function withLocalCopy<T>(
  blobs: BlobStore,
  key: string,
  use: (file: string) => Promise<T>,
): Promise<T> {
  if (blobs instanceof LocalBlobStore) return use(blobs.filePath(key));
  staleSwept ??= removeStaleLocalCopies();
  await staleSwept;
  const dir = await mkdtemp(path.join(os.tmpdir(), `${COPY_PREFIX}${process.pid}-`));
  try {
    const file = path.join(dir, "data");
    await pipeline(await blobs.get(key), createWriteStream(file, { mode: 0o600 }));
    return await use(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Removes temp copies of betas whose process is gone (a crash or SIGKILL skipped their cleanup). */
export async function removeStaleLocalCopies(tmp = os.tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(tmp).catch(() => [])) {
    const pid = Number(new RegExp(`^${COPY_PREFIX}(\\d+)-`).exec(name)?.[1]);
    if (!pid || isAlive(pid)) continue;
    await rm(path.join(tmp, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
