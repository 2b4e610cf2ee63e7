import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import type { BlobStore } from "../storage/blob-store.ts";

/**
 * Streams a blob to a private temp file and runs `use` on its path: the readers need random access
 * (HDF5, zip central directories), and a stream copy never holds the file in memory.
 */
export async function withLocalCopy<T>(
  blobs: BlobStore,
  key: string,
  use: (file: string) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "mindeye-upload-"));
  try {
    const file = path.join(dir, "data");
    await pipeline(await blobs.get(key), createWriteStream(file, { mode: 0o600 }));
    return await use(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
