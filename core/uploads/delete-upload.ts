import { ApiError } from "../contracts/errors.ts";
import { eraseJob } from "../jobs/erase-job.ts";
import type { JobStore } from "../jobs/job-store.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import type { UploadStore } from "./upload-store.ts";

/**
 * Deletes an upload, its file, and every job derived from it with that job's outputs. A job still queued
 * or running on it is not touched: the delete is refused naming it, so nothing is written after.
 * Returns the erased jobs' ids.
 */
export async function deleteUpload(
  deps: { uploads: UploadStore; jobs: JobStore; blobs: BlobStore },
  labId: string,
  uploadId: string,
): Promise<string[]> {
  const upload = await deps.uploads.get(labId, uploadId);
  const derived = await deps.jobs.derivedFrom(labId, uploadId);
  const unfinished = derived.filter((j) => j.status === "queued" || j.status === "running");
  if (unfinished.length > 0) {
    const ids = unfinished.map((j) => j.id);
    throw new ApiError(
      "conflict",
      `Jobs ${ids.join(", ")} still read upload ${uploadId}; cancel them (POST /v1/jobs/{id}/cancel), then delete it.`,
      { fields: { jobs: ids } },
    );
  }
  for (const job of derived) await eraseJob(deps, labId, job.id);
  await deps.uploads.delete(labId, upload.id);
  await deps.blobs.delete(upload.blobKey);
  return derived.map((j) => j.id);
}
