import { mkdir, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { ApiError } from "../../contracts/errors.ts";
import type { CreateIndexOptions, HnswParams, IndexInfo, VectorIndex, VectorStore } from "../vector-index.ts";
import { EmbeddedIndex } from "./embedded-index.ts";
import { ExactEngine } from "./exact-engine.ts";
import { type EmbeddedBackend, IndexFiles, type Manifest } from "./index-files.ts";
import { PayloadTable } from "./payload-table.ts";
import { UsearchEngine } from "./usearch-engine.ts";
import type { EngineSettings, VectorEngine } from "./vector-engine.ts";

/**
 * M and efConstruction are usearch's defaults. efSearch 128 is the first that keeps recall@10 >= 0.95 on
 * 1M clustered CLIP-like vectors (0.962; ef 64 gave 0.911 there and 0.962 at 400k): BENCHMARKS.md.
 */
export const DEFAULT_HNSW: HnswParams = { m: 16, efConstruction: 128, efSearch: 128 };

const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/**
 * Indexes kept in folders under `root` (the embedded default: `<data dir>/indexes/<name>/`). New indexes
 * use `backend`; existing ones open with whatever backend their manifest names.
 */
export class LocalVectorStore implements VectorStore {
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

  async open(name: string): Promise<VectorIndex> {
    const files = new IndexFiles(this.dirOf(name));
    const manifest = await files.readManifest();
    if (!manifest) throw new ApiError("index_not_found", `there is no index named "${name}"`);
    const settings = this.settingsOf(manifest);
    if (manifest.generation === 0)
      return new EmbeddedIndex(
        name,
        manifest,
        newEngine(settings, manifest.backend),
        new PayloadTable(),
        files,
      );
    const vectorsFile = files.vectorsFile(manifest.generation, manifest.backend);
    const engine =
      manifest.backend === "usearch"
        ? UsearchEngine.view(settings, vectorsFile)
        : await ExactEngine.load(settings, vectorsFile);
    const payloads = await PayloadTable.load(
      files.payloadsFile(manifest.generation),
      BigInt(manifest.nextStringKey),
    );
    return new EmbeddedIndex(name, manifest, engine, payloads, files);
  }

  async create(name: string, options: CreateIndexOptions): Promise<VectorIndex> {
    const dir = this.dirOf(name);
    const files = new IndexFiles(dir);
    if (await files.readManifest()) throw new ApiError("conflict", `an index named "${name}" already exists`);
    const manifest: Manifest = {
      format: 1,
      backend: this.backend,
      dim: options.dim,
      metric: options.metric,
      quantization: options.quantization ?? "f32",
      hnsw: { ...DEFAULT_HNSW, ...options.hnsw },
      generation: 0,
      count: 0,
      nextStringKey: (1n << 63n).toString(),
    };
    await mkdir(dir, { recursive: true });
    await files.writeManifest(manifest);
    return new EmbeddedIndex(
      name,
      manifest,
      newEngine(this.settingsOf(manifest), this.backend),
      new PayloadTable(),
      files,
    );
  }

  async drop(name: string): Promise<void> {
    await rm(this.dirOf(name), { recursive: true, force: true });
  }

  async close(): Promise<void> {}

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

function newEngine(settings: EngineSettings, backend: EmbeddedBackend): VectorEngine {
  return backend === "usearch" ? UsearchEngine.create(settings) : new ExactEngine(settings);
}
