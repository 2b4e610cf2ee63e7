import {
  type BetaFile,
  type BetaMatrix,
  extractMaskedVoxels,
  type InputSpace,
  iterateTrials,
  type LayoutRequest,
  openBetaFile,
  type SessionStatistics,
  sessionStatistics,
  summarizeBetas,
} from "../betas/index.ts";
import { ApiError } from "../contracts/errors.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { withLocalCopy } from "./local-copy.ts";
import type { UploadRecord, UploadSummary } from "./upload-store.ts";

export interface ReadOptions {
  dataset?: string;
  layout?: LayoutRequest;
  raw_shape?: number[];
}

async function withBetaFile<T>(
  blobs: BlobStore,
  upload: UploadRecord,
  read: ReadOptions,
  maxDecodedBytes: number,
  use: (file: BetaFile, etag: string | undefined) => Promise<T>,
): Promise<T> {
  const head = await blobs.head(upload.blobKey);
  if (!head) {
    throw new ApiError(
      "upload_not_ready",
      `Nothing was uploaded for ${upload.id} yet: PUT the file to its upload URL first.`,
    );
  }
  if (head.size !== upload.size) {
    throw new ApiError(
      "invalid_file",
      `Upload ${upload.id} was declared as ${upload.size} bytes but ${head.size} arrived. Create a new upload with the file's exact size.`,
      { fields: { declared_size: upload.size, received_size: head.size } },
    );
  }
  // Bytes written after `complete` (an S3 URL cannot be revoked) must not silently change what is read.
  if (upload.summary?.etag && head.etag && upload.summary.etag !== head.etag) {
    throw new ApiError(
      "conflict",
      `The file of upload ${upload.id} changed after it was completed; its summary no longer describes it. Create a new upload.`,
    );
  }
  return withLocalCopy(blobs, upload.blobKey, async (path) => {
    const file = await openBetaFile(path, {
      filename: upload.filename,
      format: read.raw_shape ? "raw" : "auto",
      dataset: read.dataset,
      layout: read.layout,
      rawShape: read.raw_shape,
      limits: { maxDecodedBytes },
    });
    try {
      return await use(file, head.etag);
    } finally {
      await file.close();
    }
  });
}

/**
 * Reads an uploaded file once: what it holds, its statistics and, for a model, its masked voxel count
 * and the session's per-voxel z-scoring statistics over those voxels.
 */
export async function inspectUpload(
  blobs: BlobStore,
  upload: UploadRecord,
  read: ReadOptions,
  model: { id: string; space: InputSpace } | undefined,
  maxDecodedBytes: number,
): Promise<{ summary: UploadSummary; session?: SessionStatistics }> {
  return withBetaFile(blobs, upload, read, maxDecodedBytes, async (file, etag) => {
    const stats = await summarizeBetas(file);
    const summary: UploadSummary = {
      format: file.format,
      dtype: file.dtype,
      shape: file.shape,
      trials: file.trials,
      layout: file.layout,
      dataset: file.dataset,
      grid: file.grid,
      scaling: file.scaling ? { slope: file.scaling.slope, inter: file.scaling.inter } : null,
      stats: {
        sum: stats.sum,
        mean: stats.mean,
        min: stats.min,
        max: stats.max,
        nan_count: stats.nan_count,
        infinite_count: stats.infinite_count,
      },
      read: { ...read, layout: file.layout },
      etag,
    };
    if (!model) return { summary };
    const matrix = await extractMaskedVoxels(file, model.space);
    summary.voxels = matrix.shape[1];
    summary.model = model.id;
    return { summary, session: sessionStatistics(matrix.data, matrix.shape[0], matrix.shape[1]) };
  });
}

/**
 * The model's voxels of the chosen trials of a completed upload, as [trials, voxels]; with `statistics`,
 * also the per-voxel statistics of every trial of the session (read anyway, so computed in the same pass).
 */
export async function readUploadBetas(
  blobs: BlobStore,
  upload: UploadRecord & { summary: UploadSummary },
  space: InputSpace,
  trials: number[] | undefined,
  maxDecodedBytes: number,
  options: { statistics?: boolean } = {},
): Promise<BetaMatrix & { dtype: string; scaling: BetaFile["scaling"]; session?: SessionStatistics }> {
  const read = upload.summary.read as ReadOptions;
  return withBetaFile(blobs, upload, read, maxDecodedBytes, async (file) => {
    const all = await extractMaskedVoxels(file, space);
    const base = {
      dtype: file.dtype,
      scaling: file.scaling,
      ...(options.statistics ? { session: sessionStatistics(all.data, all.shape[0], all.shape[1]) } : {}),
    };
    if (!trials) return { ...all, ...base };
    const voxels = all.shape[1];
    const picked = new Float32Array(trials.length * voxels);
    trials.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= all.shape[0]) {
        throw new ApiError(
          "invalid_request",
          `Trial ${t} is not in upload ${upload.id}, which has ${all.shape[0]} trials (0-based).`,
        );
      }
      picked.set(all.data.subarray(t * voxels, (t + 1) * voxels), i * voxels);
    });
    return { data: picked, shape: [trials.length, voxels], ...base };
  });
}

/**
 * A completed upload's whole array as float32 in C order with its shape, unmasked: for arrays that are
 * not betas (candidate image embeddings, [N, tokens, dim]). Bounded by `maxDecodedBytes` like any read.
 */
export async function readUploadArray(
  blobs: BlobStore,
  upload: UploadRecord & { summary: UploadSummary },
  maxDecodedBytes: number,
): Promise<{ data: Float32Array; shape: number[] }> {
  return withBetaFile(blobs, upload, upload.summary.read as ReadOptions, maxDecodedBytes, async (file) => {
    const blocks: Float32Array[] = [];
    for await (const row of iterateTrials(file)) blocks.push(row);
    if (blocks.length === 1) return { data: blocks[0]!, shape: [...file.shape] };
    const data = new Float32Array(blocks.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const block of blocks) {
      data.set(block, at);
      at += block.length;
    }
    return { data, shape: [...file.shape] };
  });
}
