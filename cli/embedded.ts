import { access, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { ApiKeyStore } from "../core/auth/api-keys.ts";
import type { Config } from "../core/config.ts";
import { DeferredInference } from "../core/inference/deferred-inference.ts";
import { startJobRuntime } from "../core/jobs/job-runtime.ts";
import { buildServices } from "../functions/build-services.ts";
import type { AppServices } from "../functions/services.ts";
import type { ModelServer } from "../gpu-worker/runtime/model-server.ts";
import { WorkerMetrics } from "../gpu-worker/server/worker-metrics.ts";
import { ensureSim01 } from "../gpu-worker/sim/ensure-sim01.ts";
import { localDocsScript } from "./docs-script.ts";
import { createLogger } from "./logger.ts";
import { configuredBundleDirs, openModelServer } from "./models.ts";

export interface Embedded {
  services: AppServices;
  publicUrl: string;
  close(): Promise<void>;
}

/**
 * Everything `mindeye serve` runs in one process, on the configured or embedded backends: the models, the
 * API, and the job runtime (job worker, webhook dispatcher, upload sweeper) that `mindeye worker` also runs.
 */
export async function startEmbedded(config: Config): Promise<Embedded> {
  const log = createLogger(config.LOG_LEVEL);
  // The API listens while the models load (the first start also generates sim01): /healthz answers at
  // once, /readyz and model routes say not_ready until they are warm.
  let settle!: { resolve: (m: ModelServer) => void; reject: (e: unknown) => void };
  const loaded = new Promise<ModelServer>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const built = await buildServices(config, log, new DeferredInference(loaded), {
    docsScript: localDocsScript,
  });
  let models: ModelServer | undefined;
  void loaded.then(
    (m) => {
      models = m;
    },
    () => {},
  );
  // The batchers' counters and queue depths, as the standalone worker reports them, on this /metrics.
  built.services.metrics.include(new WorkerMetrics(() => models?.batchStats()).registry);
  // Closing stops a sim01 generation under way (its worker thread is terminated).
  const stopLoading = new AbortController();
  const loading = loadModels(config, built.services, log, stopLoading.signal).then(
    settle.resolve,
    (error: Error) => {
      if (!stopLoading.signal.aborted) log.error({ err: error }, "models failed to load");
      settle.reject(error);
    },
  );
  if (config.embedded) await ensureLocalKey(config.dataDir, built.services.apiKeys);
  const { db, uploads, blobs, vectors } = built.services;
  const runtime = await startJobRuntime({ config, db, uploads, blobs, vectors, models: loaded, log });
  return {
    ...built,
    async close() {
      stopLoading.abort();
      // The job runtime writes to the database, so it stops before the database closes.
      await runtime.stop();
      await loading;
      await loaded.then((models) => models.close()).catch(() => {});
      await built.close();
    },
  };
}

async function loadModels(
  config: Config,
  services: AppServices,
  log: Logger,
  signal: AbortSignal,
): Promise<ModelServer> {
  // Without configured bundles the service runs the simulated subject, generated on first start.
  if (!config.MODEL_BUNDLES) {
    const sim = await ensureSim01(config.dataDir, {
      vectorStore: services.vectors,
      blobStore: services.blobs,
      log: { info: (message) => log.info(message) },
      signal,
    });
    log.info({ model: sim.modelId, index: sim.index, generated: sim.generated }, "simulated subject ready");
  }
  return openModelServer(config, await configuredBundleDirs(config, log), log);
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
  // Only to a terminal: stdout carries the JSON log stream, which collectors keep and forward.
  if (process.stderr.isTTY) process.stderr.write(`\nYour local API key (saved to ${file}):\n  ${key}\n\n`);
  else process.stderr.write(`A local API key was created and saved to ${file} (mode 600).\n`);
}
