import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { AuditLog } from "../../core/audit/audit-log.ts";
import { ApiKeyStore } from "../../core/auth/api-keys.ts";
import type { Database } from "../../core/db/database.ts";
import { migrate } from "../../core/db/migrate.ts";
import { openPglite } from "../../core/db/pglite.ts";
import { installedDocsScript } from "../../core/docs-script.ts";
import { batchJobHandlers } from "../../core/inference/batch-jobs.ts";
import { IdempotencyStore } from "../../core/jobs/idempotency.ts";
import { JobStore } from "../../core/jobs/job-store.ts";
import { type JobWorker, startJobWorker } from "../../core/jobs/job-worker.ts";
import { WebhookDeliveries } from "../../core/jobs/webhook-deliveries.ts";
import { WebhookSecretStore } from "../../core/jobs/webhook-secrets.ts";
import type { WebhookUrlPolicy } from "../../core/jobs/webhook-url-guard.ts";
import { HttpMetrics } from "../../core/metrics/http-metrics.ts";
import { LocalVectorStore } from "../../core/search/embedded/local-vector-store.ts";
import { openBlobStore, verifyLocalPresignedUrl } from "../../core/storage/open-blob-store.ts";
import { nodeBetasReader } from "../../core/uploads/betas-reader.ts";
import { UploadStore } from "../../core/uploads/upload-store.ts";
import { createApp } from "../../functions/app.ts";
import type { App } from "../../functions/env.ts";
import type { AppServices } from "../../functions/services.ts";
import { ModelServer } from "../../gpu-worker/runtime/model-server.ts";

export const TEST_ORIGIN = "http://api.test";
/** The exporter's tiny MindEye1 bundle (40 voxels on a 4x5x6 grid), served by every harness. */
export const TINY_MODEL = "mindeye1-subj01-tiny";
export const TINY_BUNDLE = path.resolve("test/fixtures/bundles/mindeye1-subj01-tiny");

export const TEST_LIMITS: AppServices["limits"] = {
  uploadMaxBytes: 64 * 1024 ** 2,
  uploadTtlHours: 1,
  decodedMaxBytes: 256 * 1024 ** 2,
  syncMaxTrials: 64,
  syncBodyBytes: 8 * 1024 ** 2,
};

/** Tests send webhooks to receivers on 127.0.0.1 over plain http, as the embedded default allows. */
export const TEST_WEBHOOK_POLICY: WebhookUrlPolicy = { allowPrivate: true, allowHttp: true };

export interface Harness {
  app: App;
  services: AppServices;
  db: Database;
  dataDir: string;
  /** A fresh API key of `lab` (the lab is created on first use). */
  keyFor(lab: string): Promise<string>;
  /** `app.request` with the origin filled in and, when `key` is given, the bearer header. */
  request(pathname: string, init?: RequestInit & { key?: string }): Promise<Response>;
  close(): Promise<void>;
}

/**
 * The API in-process on real embedded backends: PGlite in memory and a blob folder in a temp dir.
 * `extend` adds or replaces services (inference, jobs, ...) for the routes under test.
 */
export async function createHarness(
  extend: (base: AppServices) => Partial<AppServices> = () => ({}),
): Promise<Harness> {
  const db = await openPglite();
  await migrate(db);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "mindeye-test-"));
  const signingSecret = "test-signing-secret-of-at-least-32-chars";
  const blobs = await openBlobStore({ dataDir, publicBaseUrl: TEST_ORIGIN, signingSecret });
  const apiKeys = new ApiKeyStore(db);
  const log = pino({ level: "silent" });
  const inference = await ModelServer.open({
    bundleDirs: [TINY_BUNDLE],
    providers: ["cpu"],
    batch: { maxBatchRows: 16, maxDelayMs: 2, maxQueue: 256 },
    log,
  });
  const base: AppServices = {
    version: "test",
    db,
    apiKeys,
    blobs,
    uploads: new UploadStore(db),
    betasReader: nodeBetasReader,
    inference,
    vectors: new LocalVectorStore(path.join(dataDir, "indexes")),
    jobs: new JobStore(db, TEST_WEBHOOK_POLICY, blobs),
    idempotency: new IdempotencyStore(db),
    audit: new AuditLog(db),
    webhookSecrets: new WebhookSecretStore(db),
    webhookDeliveries: new WebhookDeliveries(db),
    limits: TEST_LIMITS,
    log,
    metrics: new HttpMetrics(),
    readiness: {
      database: async () => {
        await db.query("select 1");
      },
    },
    docsScript: installedDocsScript(),
    localBlobUrls: { verify: (method, url) => verifyLocalPresignedUrl(signingSecret, method, url) },
  };
  const services = { ...base, ...extend(base) };
  const app = createApp(services);
  return {
    app,
    services,
    db,
    dataDir,
    keyFor: async (lab) => (await apiKeys.create(lab)).key,
    request: (pathname, init = {}) => {
      const { key, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (key) headers.set("authorization", `Bearer ${key}`);
      return Promise.resolve(app.request(new URL(pathname, TEST_ORIGIN).toString(), { ...rest, headers }));
    },
    async close() {
      await inference.close();
      await services.vectors.close();
      await db.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A job worker running the batch jobs (embeddings, retrievals) on the harness's own services. */
export function startBatchWorker(h: Harness): Promise<JobWorker> {
  const { inference, uploads, blobs, vectors, limits, betasReader } = h.services;
  return startJobWorker({
    db: h.db,
    blobs,
    handlers: batchJobHandlers({
      inference,
      uploads,
      blobs,
      vectors,
      decodedMaxBytes: limits.decodedMaxBytes,
      betasReader,
    }),
    pollMs: 50,
  });
}
