import type { BlobStore } from "../storage/blob-store.ts";
import type { JobStore } from "./job-store.ts";

/** Where a job's handlers write its output files (core/inference/batch-jobs.ts). */
export const jobOutputsPrefix = (labId: string, jobId: string) => `outputs/${labId}/${jobId}/`;

/**
 * Erases a finished job: its output files (those it lists, and anything an earlier attempt left under
 * its prefix), its inputs blob, then its row with the webhook events and delivery log. Files go first,
 * so a crash midway leaves the job visible and the DELETE can be repeated, never files without a record.
 */
export async function eraseJob(
  deps: { jobs: JobStore; blobs: BlobStore },
  labId: string,
  jobId: string,
): Promise<void> {
  const files = await deps.jobs.filesToErase(labId, jobId);
  const keys = new Set(files.outputKeys);
  if (files.inputsBlob) keys.add(files.inputsBlob);
  for await (const head of deps.blobs.list(jobOutputsPrefix(labId, jobId))) keys.add(head.key);
  for (const key of keys) await deps.blobs.delete(key);
  await deps.jobs.erase(labId, jobId);
}
