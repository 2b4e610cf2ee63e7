import path from "node:path";
import { z } from "zod";
import { ConfigError } from "./config-error.ts";

const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const positiveInt = z.coerce.number().int().positive();

/**
 * Every setting of every deployable, read once from the environment. Unset means the embedded default
 * under MINDEYE_DATA_DIR. Names and meanings are documented in docs/operations.md.
 */
export const configSchema = z.object({
  MINDEYE_DATA_DIR: z.string().min(1).default("./.mindeye"),
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  /** Base URL that clients use to reach this API; presigned local URLs and job URLs are built on it. */
  PUBLIC_URL: z.url().optional(),
  /** When set, /metrics requires `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),

  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
    .optional(),
  BLOB_STORE: z
    .string()
    .regex(/^(file|s3):\/\//, "must be file:///absolute/path or s3://bucket/prefix")
    .optional(),
  S3_ENDPOINT: z.url().optional(),
  AWS_REGION: z.string().default("us-east-1"),
  /** HMAC key for local presigned URLs; generated and kept in the data dir when unset. */
  SIGNING_SECRET: z.string().min(32, "must be at least 32 characters").optional(),

  VECTOR_STORE: z
    .string()
    .regex(/^(usearch|qdrant):\/\//, "must be usearch:///path or qdrant://host:port")
    .optional(),
  QDRANT_URL: z.url().optional(),
  QDRANT_API_KEY: z.string().optional(),
  /** Collection layout for new Qdrant indexes (docs/operations.md sizes them). */
  QDRANT_SHARDS: positiveInt.default(12),
  QDRANT_REPLICATION: positiveInt.default(2),
  QDRANT_OVERSAMPLING: z.coerce.number().min(1).default(4),

  MODEL_BUNDLES: z.string().optional(),
  WORKER_URL: z.url().optional(),
  /** Port of `mindeye worker` (the model server's internal HTTP API). */
  WORKER_PORT: z.coerce.number().int().min(0).max(65535).default(8788),
  ORT_PROVIDERS: z
    .string()
    .default("cpu")
    .transform((s) => s.split(",").map((p) => p.trim()))
    .pipe(z.array(z.enum(["cuda", "cpu", "webgpu"])).min(1)),
  ORT_INTRA_OP_THREADS: z.coerce.number().int().min(0).default(0),
  BATCH_MAX_SIZE: positiveInt.default(16),
  BATCH_MAX_DELAY_MS: z.coerce.number().min(0).default(2),
  BATCH_MAX_QUEUE: positiveInt.default(256),

  UPLOAD_MAX_BYTES: positiveInt.default(8 * 1024 ** 3),
  /** Cap on bytes produced by decompression and on decoded arrays held in memory. */
  DECODED_MAX_BYTES: positiveInt.default(4 * 1024 ** 3),
  UPLOAD_TTL_HOURS: positiveInt.default(72),
  SYNC_MAX_TRIALS: positiveInt.default(64),
  SYNC_BODY_BYTES: positiveInt.default(32 * 1024 ** 2),

  WEBHOOK_ALLOW_PRIVATE: bool.optional(),
  WEBHOOK_ALLOW_HTTP: bool.optional(),

  /** Jobs one process runs at once. */
  JOB_CONCURRENCY: positiveInt.default(2),
  /** How long a claimed job stays a worker's without a heartbeat: a dead worker's job is retaken after this. */
  JOB_LEASE_SECONDS: positiveInt.default(30),
  /** Jobs of one lab running at once, over all workers; the rest wait in the queue. */
  JOB_MAX_RUNNING_PER_LAB: positiveInt.default(4),
  /** Sustained requests per second per lab on /v1 (0: no limit); RATE_LIMIT_BURST more may arrive at once. */
  RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).optional(),
  RATE_LIMIT_BURST: positiveInt.default(100),
});

export type Config = Omit<z.infer<typeof configSchema>, "RATE_LIMIT_PER_SECOND"> & {
  RATE_LIMIT_PER_SECOND: number;
  dataDir: string;
  embedded: boolean;
};

export { ConfigError };

/** Parses the environment; a bad value fails with every problem named, one per line. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== "")));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  const config = parsed.data;
  // "Embedded" means everything runs in this process on local files; it relaxes the webhook guard.
  const embedded = !config.DATABASE_URL && !config.BLOB_STORE?.startsWith("s3:") && !config.WORKER_URL;
  return {
    ...config,
    dataDir: path.resolve(config.MINDEYE_DATA_DIR),
    embedded,
    WEBHOOK_ALLOW_PRIVATE: config.WEBHOOK_ALLOW_PRIVATE ?? embedded,
    WEBHOOK_ALLOW_HTTP: config.WEBHOOK_ALLOW_HTTP ?? embedded,
    // One lab on its own machine needs no limit; a shared deployment does.
    RATE_LIMIT_PER_SECOND: config.RATE_LIMIT_PER_SECOND ?? (embedded ? 0 : 20),
  };
}
