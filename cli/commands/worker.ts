import { Command } from "commander";
import { ConfigError, loadConfig } from "../../core/config.ts";
import { readOrCreateSecret } from "../../core/data-dir.ts";
import { workerAuthToken } from "../../core/inference/worker-protocol.ts";
import type { JobRuntime, JobRuntimeParts } from "../../core/jobs/job-runtime.ts";
import type { ModelServer } from "../../gpu-worker/runtime/model-server.ts";
import { ServedModels } from "../../gpu-worker/server/served-models.ts";
import { createWorkerApp } from "../../gpu-worker/server/worker-app.ts";
import { WorkerMetrics } from "../../gpu-worker/server/worker-metrics.ts";
import { listen, stopGracefully } from "../http-server.ts";
import { openJobRuntime, runsJobRuntime } from "../job-runtime.ts";
import { createLogger } from "../logger.ts";
import { configuredBundleDirs, openModelServer } from "../models.ts";

/**
 * `mindeye worker`: the model server for the deployed topology (the API reaches it at WORKER_URL) and,
 * on the API's DATABASE_URL and BLOB_STORE, the job runtime: it claims async jobs and runs them on its
 * own models, sends webhooks and sweeps expired uploads. It listens first, so liveness holds while
 * bundles sync and load; readiness, and claiming jobs, follow once they are warm.
 */
export function workerCommand(): Command {
  return new Command("worker")
    .description(
      "run the model server's internal HTTP API and, given DATABASE_URL and BLOB_STORE, the job runtime (jobs, webhooks, upload sweeps)",
    )
    .option("--no-jobs", "do not claim or run async jobs")
    .option("--no-webhooks", "do not send webhooks")
    .option("--no-sweep", "do not delete expired uploads")
    .action(async (parts: JobRuntimeParts) => {
      const config = loadConfig();
      const log = createLogger(config.LOG_LEVEL).child({ component: "worker" });
      const withRuntime = runsJobRuntime(config, parts);
      const secret = config.SIGNING_SECRET ?? (await readOrCreateSecret(config.dataDir, "signing-secret"));
      const models = new ServedModels();
      const metrics = new WorkerMetrics(() => models.peek()?.batchStats(), { processMetrics: true });
      const app = createWorkerApp({ models, metrics, log, authToken: await workerAuthToken(secret) });
      const server = await listen(app.fetch, config.HOST, config.WORKER_PORT);
      log.info({ host: config.HOST, port: config.WORKER_PORT }, "worker listening; loading models");

      let settle!: (m: ModelServer) => void;
      const warm = new Promise<ModelServer>((resolve) => {
        settle = resolve;
      });
      let runtime: JobRuntime | undefined;
      if (withRuntime) runtime = await openJobRuntime(config, parts, warm, log);
      else
        log.info("no DATABASE_URL and BLOB_STORE (or all parts off): serving models only, running no jobs");

      let loaded: ModelServer | undefined;
      let stopping = false;
      stopGracefully(server, log, {
        // Not ready from now on, so the balancer stops sending; requests in flight still finish.
        beforeClose: () => {
          stopping = true;
          models.set(undefined);
        },
        afterClose: async () => {
          // Jobs in hand finish (or are released) while the models are still open.
          await runtime?.stop();
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
      settle(loaded);
      log.info({ models: Object.keys(loaded.batchStats()), jobs: withRuntime && parts.jobs }, "worker ready");
    });
}
