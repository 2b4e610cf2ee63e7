import type { LayoutRequest } from "../betas/index.ts";
import type { InferenceService } from "../inference/inference.ts";
import { modelInputSpace } from "../inference/model-space.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import type { BetasReader } from "./betas-reader.ts";
import type { UploadRecord, UploadStore } from "./upload-store.ts";

export interface CompleteUploadRequest {
  dataset?: string;
  layout?: LayoutRequest;
  raw_shape?: number[];
  model?: string;
}

/**
 * Reads the uploaded file once and records what it holds; the upload is then ready for embeddings. With a
 * model, the session's z-scoring statistics over the model's voxels are kept too (else on first use).
 */
export async function completeUpload(
  deps: {
    uploads: UploadStore;
    blobs: BlobStore;
    inference: InferenceService;
    decodedMaxBytes: number;
    betasReader: BetasReader;
  },
  labId: string,
  uploadId: string,
  request: CompleteUploadRequest,
): Promise<UploadRecord> {
  const upload = await deps.uploads.get(labId, uploadId);
  const model = request.model
    ? { id: request.model, space: await modelInputSpace(deps.inference, request.model) }
    : undefined;
  const { summary, session } = await deps.betasReader.inspectUpload(
    deps.blobs,
    upload,
    { dataset: request.dataset, layout: request.layout, raw_shape: request.raw_shape },
    model,
    deps.decodedMaxBytes,
  );
  const ready = await deps.uploads.markReady(labId, uploadId, summary);
  if (model && session) await deps.uploads.keepSessionStatistics(uploadId, model.id, session);
  return ready;
}
