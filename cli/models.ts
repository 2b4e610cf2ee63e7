import path from "node:path";
import type { Logger } from "pino";
import type { Config } from "../core/config.ts";
import { resolveBundleDirs } from "../gpu-worker/runtime/bundle-source.ts";
import { ModelServer } from "../gpu-worker/runtime/model-server.ts";

/** The bundle folders MODEL_BUNDLES names (default `<data dir>/bundles`), synced and verified. */
export function configuredBundleDirs(config: Config, log: Logger): Promise<string[]> {
  return resolveBundleDirs(config.MODEL_BUNDLES ?? path.join(config.dataDir, "bundles"), {
    cacheDir: path.join(config.dataDir, "bundle-cache"),
    region: config.AWS_REGION,
    s3Endpoint: config.S3_ENDPOINT,
    log,
  });
}

/** A model server for `bundleDirs` with the configured providers and batcher. */
export function openModelServer(config: Config, bundleDirs: string[], log: Logger): Promise<ModelServer> {
  return ModelServer.open({
    bundleDirs,
    providers: config.ORT_PROVIDERS,
    intraOpThreads: config.ORT_INTRA_OP_THREADS || undefined,
    batch: {
      maxBatchRows: config.BATCH_MAX_SIZE,
      maxDelayMs: config.BATCH_MAX_DELAY_MS,
      maxQueue: config.BATCH_MAX_QUEUE,
    },
    log,
  });
}
