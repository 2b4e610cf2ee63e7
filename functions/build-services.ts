import type { Logger } from "pino";
import { AuditLog } from "../core/audit/audit-log.ts";
import { ApiKeyStore } from "../core/auth/api-keys.ts";
import { LabRateLimiter } from "../core/auth/lab-rate-limiter.ts";
import { type Config, ConfigError } from "../core/config.ts";
import { readOrCreateSecret } from "../core/data-dir.ts";
import { openConfiguredDatabase } from "../core/db/open.ts";
import { HttpInferenceClient } from "../core/inference/http-client.ts";
import type { InferenceService } from "../core/inference/inference.ts";
import { IdempotencyStore } from "../core/jobs/idempotency.ts";
import { JobStore } from "../core/jobs/job-store.ts";
import { WebhookDeliveries } from "../core/jobs/webhook-deliveries.ts";
import { webhookUrlPolicy } from "../core/jobs/webhook-policy.ts";
import { WebhookSecretStore } from "../core/jobs/webhook-secrets.ts";
import { HttpMetrics } from "../core/metrics/http-metrics.ts";
import { openVectorStore } from "../core/search/open-vector-store.ts";
import { openBlobStore, verifyLocalPresignedUrl } from "../core/storage/open-blob-store.ts";
import { nodeBetasReader } from "../core/uploads/betas-reader.ts";
import { UploadStore } from "../core/uploads/upload-store.ts";
import packageJson from "../package.json" with { type: "json" };
import type { AppServices } from "./services.ts";

/**
 * Opens the adapters the configuration names (database, blob store) and assembles the services of the API.
 * Used by `mindeye serve`, `mindeye api` and the Lambda entry; inference is the caller's, and so is the
 * job runtime, and so is where the docs page's script is read from (core/docs-script.ts).
 */
export async function buildServices(
  config: Config,
  log: Logger,
  inference: InferenceService,
  docsScript: AppServices["docsScript"],
): Promise<{ services: AppServices; publicUrl: string; close(): Promise<void> }> {
  const publicUrl = config.PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`;
  const db = await openConfiguredDatabase(config);
  const signingSecret = config.SIGNING_SECRET ?? (await readOrCreateSecret(config.dataDir, "signing-secret"));
  const blobs = await openBlobStore({
    blobStoreUrl: config.BLOB_STORE,
    dataDir: config.dataDir,
    publicBaseUrl: publicUrl,
    signingSecret,
    s3Endpoint: config.S3_ENDPOINT,
    region: config.AWS_REGION,
  });
  const vectors = openVectorStore(config);
  const services: AppServices = {
    version: packageJson.version,
    db,
    apiKeys: new ApiKeyStore(db),
    blobs,
    uploads: new UploadStore(db),
    betasReader: nodeBetasReader,
    inference,
    vectors,
    jobs: new JobStore(db, webhookUrlPolicy(config), blobs),
    idempotency: new IdempotencyStore(db),
    audit: new AuditLog(db),
    webhookSecrets: new WebhookSecretStore(db),
    webhookDeliveries: new WebhookDeliveries(db),
    limits: {
      uploadMaxBytes: config.UPLOAD_MAX_BYTES,
      uploadTtlHours: config.UPLOAD_TTL_HOURS,
      decodedMaxBytes: config.DECODED_MAX_BYTES,
      syncMaxTrials: config.SYNC_MAX_TRIALS,
      syncBodyBytes: config.SYNC_BODY_BYTES,
    },
    log,
    metrics: new HttpMetrics({ processMetrics: true }),
    metricsToken: config.METRICS_TOKEN,
    readiness: {
      database: async () => {
        await db.query("select 1");
      },
      blob_store: async () => {
        await blobs.head("readiness-probe");
      },
      models: () => inference.ready(),
    },
    localBlobUrls:
      blobs.kind === "file"
        ? { verify: (method, url) => verifyLocalPresignedUrl(signingSecret, method, url) }
        : undefined,
    rateLimiter:
      config.RATE_LIMIT_PER_SECOND > 0
        ? new LabRateLimiter(db, { perSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST })
        : undefined,
    docsScript,
  };
  return {
    services,
    publicUrl,
    async close() {
      await vectors.close();
      await db.close();
    },
  };
}

/**
 * The models of the split topology (`mindeye api`, Lambda): GPU workers at WORKER_URL. That API runs no
 * jobs, so it needs the database and blob store that the workers (`mindeye worker`) share with it.
 */
export function remoteInference(config: Config): HttpInferenceClient {
  const missing = (["DATABASE_URL", "BLOB_STORE", "WORKER_URL", "SIGNING_SECRET"] as const).filter(
    (name) => !config[name],
  );
  if (missing.length > 0 || !config.WORKER_URL || !config.SIGNING_SECRET) {
    throw new ConfigError(
      `The API without in-process models needs ${missing.join(", ")}: it reaches the models at WORKER_URL, ` +
        "and `mindeye worker` processes on the same DATABASE_URL and BLOB_STORE (with the same SIGNING_SECRET) run its jobs. " +
        "Use `mindeye serve` to run everything in one process.",
    );
  }
  return new HttpInferenceClient({ url: config.WORKER_URL, signingSecret: config.SIGNING_SECRET });
}
