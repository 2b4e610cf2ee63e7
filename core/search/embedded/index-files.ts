import { open, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { HnswParams, Metric, Quantization } from "../vector-index.ts";

export type EmbeddedBackend = "usearch" | "exact";

/** One committed segment: its files (names inside the index folder) and how many rows it holds. */
export interface SegmentEntry {
  vectors: string;
  payloads: string;
  /**
   * The segment's vectors as float32 rows (exact-engine layout), kept beside a usearch graph until
   * compaction folds the segment into the base, since a usearch file cannot hand its vectors back.
   */
  raw?: string;
  rows: number;
}

/** What `manifest.json` in `<root>/<name>/` says; it is replaced atomically, so it names complete segments. */
export interface Manifest {
  format: 2;
  backend: EmbeddedBackend;
  dim: number;
  metric: Metric;
  quantization: Quantization;
  hnsw: HnswParams;
  /** Bumped by every commit; 0 before the first. Segment files are named by the generation that wrote them. */
  generation: number;
  /** Live points over all segments. */
  count: number;
  /** Next key for a new string id, as a decimal string (u64). */
  nextStringKey: string;
  /** Tells a recreated index from the one dropped before it (a served copy must not reuse its segments). */
  uid?: string;
  /** Oldest first; a newer segment's rows and tombstones shadow older segments' rows with the same key. */
  segments: SegmentEntry[];
}

/** Format 1 (one generation rewritten whole by every flush) still opens: as a single segment. */
interface ManifestV1 extends Omit<Manifest, "format" | "segments"> {
  format: 1;
}

const MANIFEST = "manifest.json";

/**
 * The files of one embedded index. A commit writes and syncs the new segment's files, then renames a
 * new manifest over the old one: a crash at any point leaves the previous manifest and every file it
 * names whole, so an index always reopens in the state of its last commit. Files no manifest names
 * (replaced by compaction, or half-written by a crashed commit) are removed after the next commit.
 */
export class IndexFiles {
  constructor(readonly dir: string) {}

  static manifestPath(dir: string): string {
    return path.join(dir, MANIFEST);
  }

  path(file: string): string {
    return path.join(this.dir, file);
  }

  /** File names for the segment written by commit `generation`. */
  segmentFiles(generation: number, backend: EmbeddedBackend): Omit<SegmentEntry, "rows"> {
    return {
      vectors: `seg-${generation}.${backend}`,
      payloads: `seg-${generation}.jsonl`,
      ...(backend === "usearch" ? { raw: `seg-${generation}.raw` } : {}),
    };
  }

  async readManifest(): Promise<Manifest | null> {
    let stored: Manifest | ManifestV1;
    try {
      stored = JSON.parse(await readFile(IndexFiles.manifestPath(this.dir), "utf8")) as Manifest | ManifestV1;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
    if (stored.format === 2) return stored;
    const segments =
      stored.generation > 0
        ? [
            {
              vectors: `vectors.${stored.generation}.${stored.backend}`,
              payloads: `payloads.${stored.generation}.jsonl`,
              rows: stored.count,
            },
          ]
        : [];
    return { ...stored, format: 2, segments };
  }

  /** Makes `next` current once the files of its new segments are written. */
  async commit(next: Manifest, written: readonly string[]): Promise<void> {
    for (const file of written) await syncFile(this.path(file));
    await this.writeManifest(next);
    await this.removeUnnamed(next);
  }

  /** Replaces the manifest atomically (write, sync, rename, sync the folder). */
  async writeManifest(manifest: Manifest): Promise<void> {
    const tmp = `${IndexFiles.manifestPath(this.dir)}.tmp`;
    await writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
    await syncFile(tmp);
    await rename(tmp, IndexFiles.manifestPath(this.dir));
    await syncFile(this.dir);
  }

  // A reader that mapped a removed file keeps its pages (the inode lives until unmapped); one that read
  // the old manifest and opens a removed file afterwards gets ENOENT and rereads the manifest.
  private async removeUnnamed(manifest: Manifest): Promise<void> {
    const named = new Set([
      MANIFEST,
      ...manifest.segments.flatMap((s) => [s.vectors, s.payloads, s.raw ?? ""]),
    ]);
    for (const file of await readdir(this.dir)) {
      if (!named.has(file)) await rm(this.path(file), { force: true });
    }
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
