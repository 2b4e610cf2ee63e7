import path from "node:path";
import { type ServerType, serve } from "@hono/node-server";
import { Command } from "commander";
import { ConfigError, loadConfig } from "../../core/config.ts";
import { readOrCreateSecret } from "../../core/data-dir.ts";
import { workerAuthToken } from "../../core/inference/worker-protocol.ts";
import { resolveBundleDirs } from "../../gpu-worker/runtime/bundle-source.ts";
import { ModelServer } from "../../gpu-worker/runtime/model-server.ts";
import { ServedModels } from "../../gpu-worker/server/served-models.ts";
import { createWorkerApp } from "../../gpu-worker/server/worker-app.ts";
import { WorkerMetrics } from "../../gpu-worker/server/worker-metrics.ts";
import { createLogger } from "../logger.ts";

/**
 * `mindeye worker`: the model server alone, for the deployed topology (the API reaches it at WORKER_URL).
 * It listens first, so liveness holds while bundles sync and load; readiness follows once they are warm.
 */
export function workerCommand(): Command {
  return new Command("worker")
    .description("run the model server's internal HTTP API (binary embed, KServe v2 health, /metrics)")
    .action(async () => {
      const config = loadConfig();
      const log = createLogger(config.LOG_LEVEL).child({ component: "worker" });
      const secret = config.SIGNING_SECRET ?? (await readOrCreateSecret(config.dataDir, "signing-secret"));
      const models = new ServedModels();
      const metrics = new WorkerMetrics(() => models.peek()?.batchStats(), { processMetrics: true });
      const app = createWorkerApp({ models, metrics, log, authToken: await workerAuthToken(secret) });
      const server = await listen(app.fetch, config.HOST, config.WORKER_PORT);
      log.info({ host: config.HOST, port: config.WORKER_PORT }, "worker listening; loading models");

      let loaded: ModelServer | undefined;
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        // Not ready from now on, so the balancer stops sending; requests in flight still finish.
        models.set(undefined);
        log.info({ signal }, "shutting down: finishing in-flight requests");
        const forced = setTimeout(() => server.closeAllConnections?.(), 10_000);
        await new Promise<void>((resolve) => server.close(() => resolve()));
        clearTimeout(forced);
        await loaded?.close();
        log.info("stopped");
        process.exit(0);
      };
      process.on("SIGTERM", () => void stop("SIGTERM"));
      process.on("SIGINT", () => void stop("SIGINT"));

      const bundleSource = config.MODEL_BUNDLES ?? path.join(config.dataDir, "bundles");
      const bundleDirs = await resolveBundleDirs(bundleSource, {
        cacheDir: path.join(config.dataDir, "bundle-cache"),
        region: config.AWS_REGION,
        s3Endpoint: config.S3_ENDPOINT,
        log,
      });
      if (bundleDirs.length === 0) {
        throw new ConfigError(
          `MODEL_BUNDLES (${bundleSource}) holds no bundle folders with a manifest.json.`,
        );
      }
      loaded = await ModelServer.open({
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
      if (stopping) return;
      models.set(loaded);
      log.info({ models: Object.keys(loaded.batchStats()) }, "worker ready");
    });
}

function listen(
  fetch: Parameters<typeof serve>[0]["fetch"],
  hostname: string,
  port: number,
): Promise<ServerType & { closeAllConnections?: () => void }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, () => resolve(server));
    server.once("error", reject);
  });
}
