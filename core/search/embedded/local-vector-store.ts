import { randomUUID } from "node:crypto";
import { statSync } from "node:fs";
import { mkdir, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { ApiError } from "../../contracts/errors.ts";
import type { CreateIndexOptions, HnswParams, IndexInfo, VectorIndex, VectorStore } from "../vector-index.ts";
import { EmbeddedIndex } from "./embedded-index.ts";
import { type EmbeddedBackend, IndexFiles, type Manifest } from "./index-files.ts";
import { PointKeys } from "./point-keys.ts";
import { Segment } from "./segment.ts";
import type { EngineSettings } from "./vector-engine.ts";

/**
 * From the 1M sweep in BENCHMARKS.md (clustered CLIP-like vectors, f16): M 32 with efSearch 64 keeps
 * recall@10 at 0.966 in 0.94 ms p50, where M 16 needs efSearch 128 for 0.951 in 0.98 ms; the denser
 * graph costs 1.4x the build time and 8% more disk. efConstruction is usearch's default.
 */
export const DEFAULT_HNSW: HnswParams = { m: 32, efConstruction: 128, efSearch: 64 };

const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/**
 * A served index whose manifest's stat is unchanged is reused without rereading it, but the manifest is
 * reread at least this often anyway: a stat can miss a commit only if a later manifest reused a freed
 * inode with the same size within one tick of the filesystem's coarse clock.
 */
const MANIFEST_REREAD_MS = 1000;

/**
 * Indexes kept in folders under `root` (the embedded default: `<data dir>/indexes/<name>/`). New indexes
 * use `backend`; existing ones open with whatever backend their manifest names.
 */
export class LocalVectorStore implements VectorStore {
  private readonly served = new Map<string, Promise<EmbeddedIndex>>();
  /** Per served index, the manifest's stat when it was last read and found shown, and when. */
  private readonly checked = new Map<string, { stamp: string | null; at: number }>();

  constructor(
    readonly root: string,
    readonly backend: EmbeddedBackend = "usearch",
    /** Overrides the saved efSearch when opening (usearch fixes it per opened index). */
    private readonly openOptions: { efSearch?: number } = {},
  ) {}

  async list(): Promise<IndexInfo[]> {
    const names = await readdir(this.root).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return [] as string[];
      throw error;
    });
    const infos: IndexInfo[] = [];
    for (const name of names.sort()) {
      const manifest = await new IndexFiles(path.join(this.root, name)).readManifest();
      if (!manifest) continue;
      infos.push({
        name,
        dim: manifest.dim,
        metric: manifest.metric,
        count: manifest.count,
        backend: manifest.backend,
      });
    }
    return infos;
  }

  /**
   * The served index: opened once and shared by every caller in this process. Each call stats the
   * manifest (a few µs, no read); when it changed, or MANIFEST_REREAD_MS after the last read, the
   * manifest is reread, and when another process (an ingest) has committed since, the index is reopened
   * on the new manifest, reusing every segment it already has mapped, so only new segments are read.
   */
  async open(name: string): Promise<VectorIndex> {
    const files = new IndexFiles(this.dirOf(name));
    const checked = this.checked.get(name);
    const served = this.served.get(name);
    if (served && checked && performance.now() - checked.at < MANIFEST_REREAD_MS) {
      const stamp = manifestStamp(files);
      if (stamp !== null && stamp === checked.stamp) return served;
    }
    for (let attempt = 0; ; attempt++) {
      // Stamped before the read: a commit in between changes the stamp, so the next call rereads.
      const stamp = manifestStamp(files);
      const at = performance.now();
      const manifest = await files.readManifest();
      if (!manifest) {
        this.forget(name);
        throw new ApiError("index_not_found", `there is no index named "${name}"`);
      }
      const current = await this.served.get(name);
      if (current?.shows(manifest)) {
        this.checked.set(name, { stamp, at });
        return current;
      }
      // Concurrent callers share one reopen rather than each reading the new segments.
      const opening = this.openAt(name, files, manifest, current);
      this.served.set(name, opening);
      try {
        const index = await opening;
        this.checked.set(name, { stamp, at });
        return index;
      } catch (error) {
        if (this.served.get(name) === opening) this.forget(name);
        // A commit elsewhere removed a file this manifest named between reading it and opening the file.
        if ((error as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 2) throw error;
      }
    }
  }

  async create(name: string, options: CreateIndexOptions): Promise<VectorIndex> {
    const dir = this.dirOf(name);
    const files = new IndexFiles(dir);
    if (await files.readManifest()) throw new ApiError("conflict", `an index named "${name}" already exists`);
    const manifest: Manifest = {
      format: 2,
      backend: this.backend,
      dim: options.dim,
      metric: options.metric,
      quantization: options.quantization ?? "f32",
      hnsw: { ...DEFAULT_HNSW, ...options.hnsw },
      generation: 0,
      count: 0,
      nextStringKey: (1n << 63n).toString(),
      uid: randomUUID(),
      segments: [],
    };
    await mkdir(dir, { recursive: true });
    await files.writeManifest(manifest);
    const index = this.openAt(name, files, manifest, undefined);
    this.served.set(name, index);
    return index;
  }

  async drop(name: string): Promise<void> {
    this.forget(name);
    await rm(this.dirOf(name), { recursive: true, force: true });
  }

  /** Commits what the served indexes hold and lets their mappings go. */
  async close(): Promise<void> {
    const served = [...this.served.values()];
    this.served.clear();
    this.checked.clear();
    for (const index of served) await (await index).flush();
  }

  private async openAt(
    name: string,
    files: IndexFiles,
    manifest: Manifest,
    previous: EmbeddedIndex | undefined,
  ): Promise<EmbeddedIndex> {
    const settings = this.settingsOf(manifest);
    const reusable = previous?.segmentsFor(manifest) ?? new Map<string, Segment>();
    const segments: Segment[] = [];
    for (const entry of manifest.segments) {
      segments.push(
        reusable.get(entry.vectors) ?? (await Segment.open(settings, manifest.backend, files, entry)),
      );
    }
    const keys = new PointKeys(BigInt(manifest.nextStringKey));
    for (const segment of segments) {
      for (const [key, row] of segment.payloads.entries()) keys.assign(row.id, key);
    }
    return new EmbeddedIndex(name, manifest, settings, segments, keys, files);
  }

  private forget(name: string): void {
    this.served.delete(name);
    this.checked.delete(name);
  }

  private dirOf(name: string): string {
    if (!NAME.test(name)) {
      throw new ApiError("invalid_request", `index name "${name}" must be 1-64 of a-z, 0-9, "_" and "-"`);
    }
    return path.join(this.root, name);
  }

  private settingsOf(manifest: Manifest): EngineSettings {
    return {
      dim: manifest.dim,
      metric: manifest.metric,
      quantization: manifest.quantization,
      hnsw: {
        ...manifest.hnsw,
        ...(this.openOptions.efSearch ? { efSearch: this.openOptions.efSearch } : {}),
      },
    };
  }
}

/**
 * What changes whenever `manifest.json` is replaced (each commit renames a new file over it), or null when
 * there is none. Synchronous on purpose: a local stat takes ~2 µs, an async one a thread-pool round trip (~20-40 µs).
 */
function manifestStamp(files: IndexFiles): string | null {
  const stats = statSync(IndexFiles.manifestPath(files.dir), { bigint: true, throwIfNoEntry: false });
  return stats ? `${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}` : null;
}
