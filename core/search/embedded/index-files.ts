import { open, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { HnswParams, Metric, Quantization } from "../vector-index.ts";

export type EmbeddedBackend = "usearch" | "exact";

/** What `manifest.json` in `<root>/<name>/` says; it is replaced atomically, so it names a complete generation. */
export interface Manifest {
  format: 1;
  backend: EmbeddedBackend;
  dim: number;
  metric: Metric;
  quantization: Quantization;
  hnsw: HnswParams;
  /** 0 before the first flush: no vector or payload file yet. */
  generation: number;
  count: number;
  /** Next key for a new string id, as a decimal string (u64). */
  nextStringKey: string;
}

/**
 * The files of one embedded index. Each flush writes `vectors.<gen>.<backend>` and `payloads.<gen>.jsonl`,
 * syncs them, then renames a new manifest over the old one: a crash at any point leaves the previous
 * generation whole, so an index always reopens in the state of its last completed flush.
 */
export class IndexFiles {
  constructor(readonly dir: string) {}

  static manifestPath(dir: string): string {
    return path.join(dir, "manifest.json");
  }

  vectorsFile(generation: number, backend: EmbeddedBackend): string {
    return path.join(this.dir, `vectors.${generation}.${backend}`);
  }

  payloadsFile(generation: number): string {
    return path.join(this.dir, `payloads.${generation}.jsonl`);
  }

  async readManifest(): Promise<Manifest | null> {
    try {
      return JSON.parse(await readFile(IndexFiles.manifestPath(this.dir), "utf8")) as Manifest;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
  }

  /** Makes `next` current once its files are written; then removes the generation it replaces. */
  async commit(next: Manifest, previous: Manifest | null): Promise<void> {
    await syncFile(this.vectorsFile(next.generation, next.backend));
    await syncFile(this.payloadsFile(next.generation));
    await this.writeManifest(next);
    if (previous && previous.generation > 0 && previous.generation !== next.generation) {
      await rm(this.vectorsFile(previous.generation, previous.backend), { force: true });
      await rm(this.payloadsFile(previous.generation), { force: true });
    }
  }

  /** Replaces the manifest atomically (write, sync, rename, sync the folder). */
  async writeManifest(manifest: Manifest): Promise<void> {
    const tmp = `${IndexFiles.manifestPath(this.dir)}.tmp`;
    await writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
    await syncFile(tmp);
    await rename(tmp, IndexFiles.manifestPath(this.dir));
    await syncFile(this.dir);
  }
}

async function syncFile(file: string): Promise<void> {
  const handle = await open(file, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
