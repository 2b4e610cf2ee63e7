import { Presets, SingleBar } from "cli-progress";
import { Command, InvalidArgumentError, Option } from "commander";
import { loadConfig } from "../../core/config.ts";
import { openConfiguredDatabase } from "../../core/db/open.ts";
import { IngestProgress } from "../../core/search/ingest/ingest-progress.ts";
import { type IngestEvent, ingestShards } from "../../core/search/ingest/ingest-shards.ts";
import {
  BlobShardSource,
  LocalShardSource,
  type ShardSource,
} from "../../core/search/ingest/shard-source.ts";
import { openVectorStore } from "../../core/search/open-vector-store.ts";
import type { BlobStore } from "../../core/storage/blob-store.ts";

export interface IngestCommandDeps {
  /** Opens the blob store holding an s3://bucket/prefix source (the S3 adapter lives in core/storage). */
  openBlobStore?: (bucketUrl: string) => Promise<BlobStore>;
}

interface IngestFlags {
  from: string;
  index: string;
  where: string[];
  batchSize: number;
  concurrency: number;
  metric: "cosine" | "ip";
  quantization: "f32" | "f16" | "i8";
  restart: boolean;
  progress: boolean;
}

const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a positive integer");
  return n;
};

/**
 * `mindeye ingest --from DIR|s3://bucket/prefix --index NAME [--where EXPR]...`: loads LAION-layout
 * embedding shards into the configured vector store, resumable from the last committed shard.
 */
export function ingestCommand(deps: IngestCommandDeps = {}): Command {
  return new Command("ingest")
    .description("load img_emb/img_emb_N.npy + metadata/metadata_N.parquet shards into a vector index")
    .requiredOption(
      "--from <dir|s3://bucket/prefix>",
      "folder or blob-store prefix holding img_emb/ and metadata/",
    )
    .requiredOption("--index <name>", "index to fill (created when missing)")
    .option(
      "--where <expr>",
      'keep rows whose metadata matches, e.g. "punsafe<0.5", "NSFW=UNLIKELY" (repeat: all must hold)',
      (value: string, all: string[]) => [...all, value],
      [] as string[],
    )
    .option("--batch-size <rows>", "rows per upsert", positive, 2048)
    .option("--concurrency <n>", "upserts in flight", positive, 2)
    .addOption(
      new Option("--metric <metric>", "metric of a new index").choices(["cosine", "ip"]).default("cosine"),
    )
    .addOption(
      new Option("--quantization <q>", "storage of a new index (Qdrant: i8 = int8 in RAM, originals on disk)")
        .choices(["f32", "f16", "i8"])
        .default("f16"),
    )
    .option("--restart", "forget committed shards of an earlier run and ingest everything again", false)
    .option("--no-progress", "no progress bar (log lines only)")
    .action(async (flags: IngestFlags) => {
      const config = loadConfig();
      const source = await shardSource(flags.from, deps);
      const store = openVectorStore(config);
      const db = await openConfiguredDatabase(config);
      const bar = flags.progress && process.stderr.isTTY ? progressBar() : null;
      try {
        const report = await ingestShards({
          source,
          store,
          indexName: flags.index,
          progress: new IngestProgress(db),
          where: flags.where,
          batchSize: flags.batchSize,
          concurrency: flags.concurrency,
          metric: flags.metric,
          quantization: flags.quantization,
          restart: flags.restart,
          onEvent: (event) => (bar ? bar.update(event) : logEvent(event)),
        });
        bar?.stop();
        process.stdout.write(`${JSON.stringify({ index: flags.index, ...report })}\n`);
      } finally {
        bar?.stop();
        await store.close();
        await db.close();
      }
    });
}

async function shardSource(from: string, deps: IngestCommandDeps): Promise<ShardSource> {
  if (!from.startsWith("s3://")) return new LocalShardSource(from);
  if (!deps.openBlobStore)
    throw new InvalidArgumentError("s3:// sources need a blob store; this build of the CLI has none wired");
  const url = new URL(from);
  return new BlobShardSource(
    await deps.openBlobStore(`s3://${url.host}`),
    url.pathname.replace(/^\//, ""),
    from,
  );
}

/** vectors/s and ETA on stderr; started at the resumed position so the rate counts only this run. */
function progressBar() {
  const bar = new SingleBar(
    {
      format:
        "ingest [{bar}] {percentage}% | {value}/{total} vectors | {speed} vectors/s | ETA {eta_formatted}",
      etaBuffer: 50,
    },
    Presets.shades_classic,
  );
  let startedAt = 0;
  let startRows = 0;
  return {
    update(event: IngestEvent) {
      if (event.kind === "started") {
        startedAt = performance.now();
        startRows = event.rowsDone;
        bar.start(event.rowsTotal, event.rowsDone, { speed: 0 });
      } else if (event.kind === "rows") {
        const seconds = (performance.now() - startedAt) / 1000;
        bar.update(event.rowsDone, {
          speed: Math.round((event.rowsDone - startRows) / Math.max(seconds, 1e-3)),
        });
      } else {
        logEvent(event);
      }
    },
    stop: () => bar.stop(),
  };
}

function logEvent(event: IngestEvent): void {
  if (event.kind === "rows") return;
  process.stderr.write(`${JSON.stringify({ event: event.kind, ...event, kind: undefined })}\n`);
}
