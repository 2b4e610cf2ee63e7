import type { Logger } from "pino";
import { type Config, ConfigError } from "../core/config.ts";
import { readOrCreateSecret } from "../core/data-dir.ts";
import { openConfiguredDatabase } from "../core/db/open.ts";
import type { InferenceService } from "../core/inference/inference.ts";
import type { Reconstructor } from "../core/inference/reconstructor.ts";
import { type JobRuntime, type JobRuntimeParts, startJobRuntime } from "../core/jobs/job-runtime.ts";
import { openVectorStore } from "../core/search/open-vector-store.ts";
import { openBlobStore } from "../core/storage/open-blob-store.ts";
import { UploadStore } from "../core/uploads/upload-store.ts";

/**
 * Whether `mindeye worker` runs the job runtime: only on the API's own database and blob store, so both
 * must be named. Neither means a model server alone; one without the other is a mistake, said at start.
 */
export function runsJobRuntime(config: Config, parts: JobRuntimeParts): boolean {
  if (!parts.jobs && !parts.webhooks && !parts.sweep) return false;
  if (!config.DATABASE_URL && !config.BLOB_STORE) return false;
  if (!config.DATABASE_URL || !config.BLOB_STORE) {
    throw new ConfigError(
      `mindeye worker runs jobs on the API's database and blob store: set both DATABASE_URL and BLOB_STORE ` +
        `(${config.DATABASE_URL ? "BLOB_STORE" : "DATABASE_URL"} is missing), or pass --no-jobs --no-webhooks --no-sweep to serve models only.`,
    );
  }
  return true;
}

/** Opens the database, blob store and vector store of the configuration and runs the job runtime on them. */
export async function openJobRuntime(
  config: Config,
  parts: JobRuntimeParts,
  models: Promise<InferenceService & Reconstructor>,
  log: Logger,
): Promise<JobRuntime> {
  const db = await openConfiguredDatabase(config);
  const signingSecret = config.SIGNING_SECRET ?? (await readOrCreateSecret(config.dataDir, "signing-secret"));
  const blobs = await openBlobStore({
    blobStoreUrl: config.BLOB_STORE,
    dataDir: config.dataDir,
    publicBaseUrl: config.PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`,
    signingSecret,
    s3Endpoint: config.S3_ENDPOINT,
    region: config.AWS_REGION,
  });
  const vectors = openVectorStore(config);
  const runtime = await startJobRuntime(
    { config, db, uploads: new UploadStore(db), blobs, vectors, models, log },
    parts,
  );
  return {
    async stop() {
      await runtime.stop();
      await vectors.close();
      await db.close();
    },
  };
}
