import { buffer } from "node:stream/consumers";
import type { BlobStore } from "../storage/blob-store.ts";
import type { JobRow } from "./job-record.ts";

/**
 * Inputs whose JSON is larger than this live in the blob store, not the row: inline betas of a whole
 * session are tens of MB, which every read of the row (lists, watchers, claims) would otherwise carry.
 */
export const INLINE_INPUTS_MAX_BYTES = 64 * 1024;

/** What the row's `inputs` holds (and GET /v1/jobs/{id} shows) when the inputs are in the blob store. */
export interface StoredInputsStub {
  stored_in_blob: true;
  bytes: number;
}

export const jobInputsKey = (labId: string, jobId: string) => `jobs/${labId}/${jobId}/inputs.json`;

/**
 * Where a new job's inputs go: small ones in the row; large ones in the blob store (written before the
 * row, so a claimed job always finds them), with a stub in the row.
 */
export async function placeJobInputs(
  blobs: BlobStore | undefined,
  labId: string,
  jobId: string,
  inputs: unknown,
): Promise<{ inline: string; blobKey: string | null }> {
  const json = JSON.stringify(inputs ?? null);
  const bytes = Buffer.byteLength(json);
  if (!blobs || bytes <= INLINE_INPUTS_MAX_BYTES) return { inline: json, blobKey: null };
  const blobKey = jobInputsKey(labId, jobId);
  await blobs.put(blobKey, json, { contentType: "application/json" });
  const stub: StoredInputsStub = { stored_in_blob: true, bytes };
  return { inline: JSON.stringify(stub), blobKey };
}

/** The job's full inputs, for the worker that runs it. */
export async function loadJobInputs(blobs: BlobStore | undefined, row: JobRow): Promise<unknown> {
  if (!row.inputs_blob) return row.inputs;
  if (!blobs) throw new Error(`job ${row.id} keeps its inputs in the blob store; give the worker one`);
  return JSON.parse((await buffer(await blobs.get(row.inputs_blob))).toString("utf8"));
}
