import { access, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ApiKeyStore } from "../core/auth/api-keys.ts";
import type { Config } from "../core/config.ts";
import { batchJobHandlers } from "../core/inference/batch-jobs.ts";
import { startJobWorker } from "../core/jobs/job-worker.ts";
import { startWebhookDispatcher } from "../core/jobs/webhook-dispatcher.ts";
import { buildServices, webhookUrlPolicy } from "../functions/build-services.ts";
import type { AppServices } from "../functions/services.ts";
import { resolveBundleDirs } from "../gpu-worker/runtime/bundle-source.ts";
import { ModelServer } from "../gpu-worker/runtime/model-server.ts";
import { createLogger } from "./logger.ts";

export interface Embedded {
  services: AppServices;
  publicUrl: string;
  close(): Promise<void>;
}

/**
 * Everything `mindeye serve` runs in one process, on the configured or embedded backends: the models, the
 * API, a job worker for batch embeddings and retrievals, and the webhook dispatcher.
 */
export async function startEmbedded(config: Config): Promise<Embedded> {
  const log = createLogger(config.LOG_LEVEL);
  const models = await ModelServer.open({
    bundleDirs: await resolveBundleDirs(config.MODEL_BUNDLES ?? path.join(config.dataDir, "bundles"), {
      cacheDir: path.join(config.dataDir, "bundle-cache"),
      region: config.AWS_REGION,
      s3Endpoint: config.S3_ENDPOINT,
      log,
    }),
    providers: config.ORT_PROVIDERS,
    intraOpThreads: config.ORT_INTRA_OP_THREADS || undefined,
    batch: {
      maxBatchRows: config.BATCH_MAX_SIZE,
      maxDelayMs: config.BATCH_MAX_DELAY_MS,
      maxQueue: config.BATCH_MAX_QUEUE,
    },
    log,
  });
  const built = await buildServices(config, log, models);
  if (config.embedded) await ensureLocalKey(config.dataDir, built.services.apiKeys);
  const { db, inference, uploads, blobs, vectors, limits } = built.services;
  const handlers = batchJobHandlers({
    inference,
    uploads,
    blobs,
    vectors,
    decodedMaxBytes: limits.decodedMaxBytes,
  });
  const worker = await startJobWorker({ db, handlers, log });
  const dispatcher = await startWebhookDispatcher({ db, policy: webhookUrlPolicy(config), log });
  return {
    ...built,
    async close() {
      // Both write to the database, so they stop before it closes.
      await worker.stop();
      await dispatcher.stop();
      await built.close();
      await models.close();
    },
  };
}

/** On the first start of the embedded default, a lab `local` gets a key, saved beside the data (mode 600). */
async function ensureLocalKey(dataDir: string, apiKeys: ApiKeyStore): Promise<void> {
  const file = path.join(dataDir, "local-api-key");
  const exists = await access(file).then(
    () => true,
    () => false,
  );
  if (exists) return;
  const { key } = await apiKeys.create("local", "created by the first `mindeye serve`");
  await writeFile(file, `${key}\n`, { mode: 0o600, flag: "wx" });
  process.stdout.write(`\nYour local API key (saved to ${file}):\n  ${key}\n\n`);
}
