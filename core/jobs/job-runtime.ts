import type { Config } from "../config.ts";
import type { Database } from "../db/database.ts";
import { batchJobHandlers } from "../inference/batch-jobs.ts";
import type { InferenceService } from "../inference/inference.ts";
import { reconstructionJobHandlers } from "../inference/reconstruction-job.ts";
import type { Reconstructor } from "../inference/reconstructor.ts";
import type { VectorStore } from "../search/vector-index.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { nodeBetasReader } from "../uploads/betas-reader.ts";
import { startExpiredUploadSweeper } from "../uploads/expired-upload-sweeper.ts";
import type { UploadStore } from "../uploads/upload-store.ts";
import { type JobWorker, startJobWorker } from "./job-worker.ts";
import type { Log } from "./log.ts";
import { startWebhookDispatcher } from "./webhook-dispatcher.ts";
import { webhookUrlPolicy } from "./webhook-policy.ts";

/** The parts of the runtime; a layout that splits them across processes switches some off. */
export interface JobRuntimeParts {
  /** Claim and run async jobs with this process's models. */
  jobs: boolean;
  /** Send webhook events from the outbox. */
  webhooks: boolean;
  /** Delete expired uploads and their files. */
  sweep: boolean;
}

export const ALL_PARTS: JobRuntimeParts = { jobs: true, webhooks: true, sweep: true };

export interface JobRuntimeDeps {
  config: Pick<
    Config,
    | "JOB_CONCURRENCY"
    | "JOB_LEASE_SECONDS"
    | "JOB_MAX_RUNNING_PER_LAB"
    | "DECODED_MAX_BYTES"
    | "WEBHOOK_ALLOW_PRIVATE"
    | "WEBHOOK_ALLOW_HTTP"
  >;
  db: Database;
  uploads: UploadStore;
  blobs: BlobStore;
  vectors: VectorStore;
  /**
   * The models jobs run on, once loaded: jobs are claimed only then, so none fails while they load. They
   * embed and reconstruct in this process (gpu-worker's ModelServer).
   */
  models: Promise<InferenceService & Reconstructor>;
  log: Log;
}

export interface JobRuntime {
  /** Stops claiming, lets running jobs finish (up to a lease), then stops the dispatcher and sweeper. */
  stop(): Promise<void>;
}

/**
 * Everything that moves jobs along after the API has queued them: the job worker, the webhook dispatcher
 * and the expired-upload sweeper. `mindeye serve` runs it beside the API; `mindeye worker` beside the
 * model server. Every part can run in many processes at once (claims use SKIP LOCKED).
 */
export async function startJobRuntime(
  deps: JobRuntimeDeps,
  parts: JobRuntimeParts = ALL_PARTS,
): Promise<JobRuntime> {
  const { config, db, uploads, blobs, vectors, log } = deps;
  const dispatcher = parts.webhooks
    ? await startWebhookDispatcher({ db, policy: webhookUrlPolicy(config), log })
    : undefined;
  const sweeper = parts.sweep ? startExpiredUploadSweeper(uploads, blobs, log) : undefined;

  let stopping = false;
  // Set when the models arrive; a stop before then means no worker is ever started.
  let worker: Promise<JobWorker> | undefined;
  if (parts.jobs) {
    deps.models.then(
      (models) => {
        if (stopping) return;
        const prepare = {
          inference: models,
          uploads,
          blobs,
          decodedMaxBytes: config.DECODED_MAX_BYTES,
          betasReader: nodeBetasReader,
        };
        worker = startJobWorker({
          db,
          blobs,
          handlers: {
            ...batchJobHandlers({ ...prepare, vectors }),
            ...reconstructionJobHandlers({ ...prepare, reconstructor: models }),
          },
          concurrency: config.JOB_CONCURRENCY,
          leaseMs: config.JOB_LEASE_SECONDS * 1000,
          maxRunningPerLab: config.JOB_MAX_RUNNING_PER_LAB,
          log,
        });
      },
      // The models' own loader reports why; without them this process runs no jobs.
      () => {},
    );
  }
  log.info({ ...parts }, "job runtime started");

  return {
    async stop() {
      stopping = true;
      sweeper?.stop();
      await (await worker)?.stop();
      await dispatcher?.stop();
    },
  };
}
