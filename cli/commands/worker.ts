import { Command } from "commander";
import { ConfigError, loadConfig } from "../../core/config.ts";
import { readOrCreateSecret } from "../../core/data-dir.ts";
import { workerAuthToken } from "../../core/inference/worker-protocol.ts";
import type { ModelServer } from "../../gpu-worker/runtime/model-server.ts";
import { ServedModels } from "../../gpu-worker/server/served-models.ts";
import { createWorkerApp } from "../../gpu-worker/server/worker-app.ts";
import { WorkerMetrics } from "../../gpu-worker/server/worker-metrics.ts";
import { listen, stopGracefully } from "../http-server.ts";
import { createLogger } from "../logger.ts";
import { configuredBundleDirs, openModelServer } from "../models.ts";

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
      stopGracefully(server, log, {
        // Not ready from now on, so the balancer stops sending; requests in flight still finish.
        beforeClose: () => {
          stopping = true;
          models.set(undefined);
        },
        afterClose: async () => {
          await loaded?.close();
        },
      });

      const bundleDirs = await configuredBundleDirs(config, log);
      if (bundleDirs.length === 0) {
        throw new ConfigError(
          `MODEL_BUNDLES (${config.MODEL_BUNDLES ?? "<data dir>/bundles"}) holds no bundle folders with a manifest.json.`,
        );
      }
      loaded = await openModelServer(config, bundleDirs, log);
      if (stopping) return;
      models.set(loaded);
      log.info({ models: Object.keys(loaded.batchStats()) }, "worker ready");
    });
}
