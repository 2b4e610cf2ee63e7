import { parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import { ApiError } from "../../contracts/errors.ts";
import type {
  Metric,
  Payload,
  PayloadValue,
  Quantization,
  VectorIndex,
  VectorPoint,
  VectorStore,
} from "../vector-index.ts";
import { float16ToFloat32 } from "./float16.ts";
import type { IngestProgress } from "./ingest-progress.ts";
import { NPY_HEADER_PROBE_BYTES, type NpyLayout, parseNpyHeader } from "./npy-header.ts";
import { shardRowId } from "./point-ids.ts";
import { type MetadataRow, parseWhereAll } from "./row-filter.ts";
import type { RangeFile, ShardSource } from "./shard-source.ts";

export interface IngestOptions {
  source: ShardSource;
  store: VectorStore;
  indexName: string;
  progress: IngestProgress;
  /** `--where` expressions on metadata columns; all must hold for a row to be stored. */
  where?: readonly string[];
  /** Rows per upsert call. */
  batchSize?: number;
  /** Upserts in flight at once. */
  concurrency?: number;
  /** For a new index. */
  metric?: Metric;
  quantization?: Quantization;
  restart?: boolean;
  onEvent?: (event: IngestEvent) => void;
}

export type IngestEvent =
  | { kind: "started"; rowsTotal: number; rowsDone: number; shards: number; shardsDone: number }
  | { kind: "rows"; rowsDone: number; rowsTotal: number }
  | { kind: "shard-committed"; shard: number; rowsRead: number; rowsStored: number }
  | { kind: "compacted"; seconds: number };

export interface IngestReport {
  runId: string;
  shards: number;
  /** Shards committed by an earlier, interrupted run and skipped now. */
  shardsResumed: number;
  rowsRead: number;
  rowsStored: number;
  /** Points in the index at the end. */
  indexCount: number;
}

interface Shard {
  number: number;
  embeddings: RangeFile;
  layout: NpyLayout;
}

/**
 * Reads LAION-layout shards into a VectorIndex. Each shard is upserted in parallel batches with ids
 * shard * 2^32 + row, made durable (flush: an embedded index appends it as one segment), and only then
 * recorded as committed; a rerun after a crash skips committed shards and redoes the interrupted one,
 * whose points simply replace themselves. At the end the index is compacted (crash-safe; a rerun after
 * a crash there finds every shard committed and compacts again).
 */
export async function ingestShards(options: IngestOptions): Promise<IngestReport> {
  const where = options.where ?? [];
  const accept = parseWhereAll(where);
  const numbers = await options.source.shards();
  if (numbers.length === 0)
    throw new ApiError("invalid_request", `${options.source.location} holds no img_emb/img_emb_N.npy shards`);
  const shards = await Promise.all(numbers.map((n) => openShard(options.source, n)));
  const dim = shards[0]!.layout.dim;
  const odd = shards.find((s) => s.layout.dim !== dim);
  if (odd)
    throw new ApiError(
      "invalid_file",
      `shard ${odd.number} has dimension ${odd.layout.dim}; shard ${shards[0]!.number} has ${dim}`,
    );

  const index = await openOrCreate(options, dim);
  const settings = JSON.stringify({ where, metric: index.metric });
  const run = await options.progress.begin(
    options.indexName,
    options.source.location,
    settings,
    shards.length,
    options.restart ?? false,
  );
  const rowsTotal = shards.reduce((sum, s) => sum + s.layout.rows, 0);
  let rowsDone = shards.filter((s) => run.committed.has(s.number)).reduce((sum, s) => sum + s.layout.rows, 0);
  const shardsResumed = run.committed.size;
  options.onEvent?.({
    kind: "started",
    rowsTotal,
    rowsDone,
    shards: shards.length,
    shardsDone: shardsResumed,
  });

  try {
    for (const shard of shards) {
      if (run.committed.has(shard.number)) continue;
      const stored = await ingestShard(shard, index, options, accept, (rows) => {
        rowsDone += rows;
        options.onEvent?.({ kind: "rows", rowsDone, rowsTotal });
      });
      await index.flush();
      await options.progress.commitShard(run, shard.number, shard.layout.rows, stored);
      options.onEvent?.({
        kind: "shard-committed",
        shard: shard.number,
        rowsRead: shard.layout.rows,
        rowsStored: stored,
      });
    }
    // Each shard committed as its own segment; serving searches one merged segment fastest.
    const compactStart = performance.now();
    if (await index.compact?.()) {
      options.onEvent?.({ kind: "compacted", seconds: (performance.now() - compactStart) / 1000 });
    }
    await options.progress.complete(run);
    const totals = [...run.committed.values()];
    return {
      runId: run.id,
      shards: shards.length,
      shardsResumed,
      rowsRead: totals.reduce((sum, t) => sum + t.rowsRead, 0),
      rowsStored: totals.reduce((sum, t) => sum + t.rowsStored, 0),
      indexCount: await index.count(),
    };
  } finally {
    await index.close();
  }
}

async function openShard(source: ShardSource, number: number): Promise<Shard> {
  const embeddings = await source.embeddings(number);
  const probe = new Uint8Array(
    await embeddings.slice(0, Math.min(NPY_HEADER_PROBE_BYTES, embeddings.byteLength)),
  );
  const layout = parseNpyHeader(probe, `img_emb_${number}.npy`);
  const expected = layout.dataOffset + layout.rows * layout.dim * layout.bytesPerValue;
  if (embeddings.byteLength < expected) {
    throw new ApiError(
      "truncated_file",
      `img_emb_${number}.npy has ${embeddings.byteLength} bytes; its header needs ${expected}`,
    );
  }
  return { number, embeddings, layout };
}

async function openOrCreate(options: IngestOptions, dim: number): Promise<VectorIndex> {
  const existing = await options.store.open(options.indexName).catch((error: unknown) => {
    if (error instanceof ApiError && error.code === "index_not_found") return null;
    throw error;
  });
  if (existing && existing.dim !== dim) {
    throw new ApiError(
      "invalid_vector",
      `index "${options.indexName}" has dimension ${existing.dim}; the shards have ${dim}`,
    );
  }
  return (
    existing ??
    options.store.create(options.indexName, {
      dim,
      metric: options.metric ?? "cosine",
      quantization: options.quantization ?? "f16",
    })
  );
}

/** Upserts one shard's accepted rows; resolves to how many were stored. */
async function ingestShard(
  shard: Shard,
  index: VectorIndex,
  options: IngestOptions,
  accept: (row: MetadataRow) => boolean,
  onRows: (count: number) => void,
): Promise<number> {
  const batchSize = options.batchSize ?? 2048;
  const inFlight = new Set<Promise<void>>();
  let firstError: unknown = null;
  let stored = 0;
  for await (const { start, rows } of metadataRanges(options.source, shard)) {
    for (let from = start; from < start + rows.length; from += batchSize) {
      const to = Math.min(from + batchSize, start + rows.length);
      const vectors = await readRows(shard, from, to);
      const points: VectorPoint[] = [];
      for (let row = from; row < to; row++) {
        const metadata = rows[row - start]!;
        if (!accept(metadata)) continue;
        const vector = vectors.subarray((row - from) * shard.layout.dim, (row - from + 1) * shard.layout.dim);
        points.push({ id: shardRowId(shard.number, row), vector, payload: payloadOf(metadata) });
      }
      // Keep at most `concurrency` upserts running; reading the next batch overlaps with them.
      const upsert: Promise<void> = index
        .upsert(points)
        .then(() => {
          stored += points.length;
          onRows(to - from);
        })
        .catch((error: unknown) => {
          firstError ??= error;
        })
        .finally(() => inFlight.delete(upsert));
      inFlight.add(upsert);
      if (inFlight.size >= (options.concurrency ?? 2)) await Promise.race(inFlight);
      if (firstError) break;
    }
    if (firstError) break;
  }
  await Promise.all(inFlight);
  if (firstError) throw firstError;
  return stored;
}

/** The shard's metadata rows, one parquet row group at a time (each group is decoded once). */
async function* metadataRanges(
  source: ShardSource,
  shard: Shard,
): AsyncGenerator<{ start: number; rows: MetadataRow[] }> {
  const file = await source.metadata(shard.number);
  const chunk = 65_536;
  if (!file) {
    for (let start = 0; start < shard.layout.rows; start += chunk) {
      yield { start, rows: Array.from({ length: Math.min(chunk, shard.layout.rows - start) }, () => ({})) };
    }
    return;
  }
  const metadata = await parquetMetadataAsync(file);
  if (Number(metadata.num_rows) !== shard.layout.rows) {
    throw new ApiError(
      "invalid_file",
      `metadata_${shard.number}.parquet has ${metadata.num_rows} rows; img_emb_${shard.number}.npy has ${shard.layout.rows}`,
    );
  }
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    yield { start, rows: await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: end }) };
    start = end;
  }
}

async function readRows(shard: Shard, from: number, to: number): Promise<Float32Array> {
  const { dataOffset, dim, bytesPerValue } = shard.layout;
  const rowBytes = dim * bytesPerValue;
  const bytes = new Uint8Array(
    await shard.embeddings.slice(dataOffset + from * rowBytes, dataOffset + to * rowBytes),
  );
  if (bytesPerValue === 2) return float16ToFloat32(bytes);
  // The slice is a fresh ArrayBuffer at offset 0, so it is 4-byte aligned.
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

/** Metadata columns as payload: strings, numbers, booleans and null; bigints as numbers, dates as ISO text. */
function payloadOf(row: MetadataRow): Payload {
  const payload: Payload = {};
  for (const [key, value] of Object.entries(row)) {
    if (typeof value === "bigint") payload[key] = Number(value);
    else if (value instanceof Date) payload[key] = value.toISOString();
    else if (value === null || ["string", "number", "boolean"].includes(typeof value))
      payload[key] = value as PayloadValue;
  }
  return payload;
}
