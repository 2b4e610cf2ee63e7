import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { Logger } from "pino";
import { AuditLog } from "../core/audit/audit-log.ts";
import { ApiKeyStore } from "../core/auth/api-keys.ts";
import type { Config } from "../core/config.ts";
import { readOrCreateSecret } from "../core/data-dir.ts";
import { openConfiguredDatabase } from "../core/db/open.ts";
import type { InferenceService } from "../core/inference/inference.ts";
import { IdempotencyStore } from "../core/jobs/idempotency.ts";
import { JobStore } from "../core/jobs/job-store.ts";
import { WebhookDeliveries } from "../core/jobs/webhook-deliveries.ts";
import { WebhookSecretStore } from "../core/jobs/webhook-secrets.ts";
import type { WebhookUrlPolicy } from "../core/jobs/webhook-url-guard.ts";
import { openVectorStore } from "../core/search/open-vector-store.ts";
import { openBlobStore, verifyLocalPresignedUrl } from "../core/storage/open-blob-store.ts";
import { UploadStore } from "../core/uploads/upload-store.ts";
import { HttpMetrics } from "./metrics.ts";
import type { AppServices } from "./services.ts";

const require = createRequire(import.meta.url);
const VERSION = (require("../package.json") as { version: string }).version;

/** Where webhooks may point: the embedded default allows local http receivers, deployments only public https. */
export function webhookUrlPolicy(config: Config): WebhookUrlPolicy {
  return {
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE ?? false,
    allowHttp: config.WEBHOOK_ALLOW_HTTP ?? false,
  };
}

/**
 * Opens the adapters the configuration names (database, blob store) and assembles the services of the API.
 * Used by `mindeye serve` and by the Lambda entry; inference and jobs are added by their callers.
 */
export async function buildServices(
  config: Config,
  log: Logger,
  inference: InferenceService,
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
  const scalarScript = require.resolve("@scalar/api-reference/browser/standalone.js");
  const services: AppServices = {
    version: VERSION,
    db,
    apiKeys: new ApiKeyStore(db),
    blobs,
    uploads: new UploadStore(db),
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
    docsScript: async () => new Uint8Array(await readFile(scalarScript)),
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
