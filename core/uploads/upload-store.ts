import type { BetaSummary, SessionStatistics } from "../betas/index.ts";
import { ApiError } from "../contracts/errors.ts";
import type { Sql } from "../db/database.ts";
import { newId } from "../ids.ts";

/** What `complete` found in the file; stored as the upload's summary and returned to the lab. */
export interface UploadSummary {
  format: string;
  dtype: string;
  shape: number[];
  trials: number;
  layout: string;
  dataset: string | null;
  grid: [number, number, number] | null;
  /** NIfTI scl_slope and scl_inter as applied, or null when the file declares no scaling. */
  scaling: { slope: number; inter: number } | null;
  stats: Omit<BetaSummary, "first" | "last">;
  /** Voxels per trial after masking for `model`, when a model was named. */
  voxels?: number;
  model?: string;
  /** How to read the file again (dataset, layout, raw shape) exactly as it was inspected. */
  read: { dataset?: string; layout?: string; raw_shape?: number[] };
  /** The blob's etag when it was inspected: later reads refuse a file that changed since. */
  etag?: string;
}

export interface UploadRecord {
  id: string;
  labId: string;
  filename: string;
  size: number;
  contentType: string | null;
  blobKey: string;
  status: "pending" | "ready" | "deleted";
  summary: UploadSummary | null;
  createdAt: Date;
  completedAt: Date | null;
  expiresAt: Date;
}

interface Row {
  id: string;
  lab_id: string;
  filename: string;
  size: number;
  content_type: string | null;
  blob_key: string;
  status: "pending" | "ready" | "deleted";
  summary: UploadSummary | null;
  created_at: Date;
  completed_at: Date | null;
  expires_at: Date;
}

interface StatsRow {
  trials: number;
  zero_variance_voxels: number;
  mean: Uint8Array;
  std: Uint8Array;
}

// Copied: a driver's buffer may sit at an offset that is not a multiple of 8.
const float64s = (bytes: Uint8Array) => new Float64Array(Uint8Array.from(bytes).buffer);

const toRecord = (r: Row): UploadRecord => ({
  id: r.id,
  labId: r.lab_id,
  filename: r.filename,
  size: Number(r.size),
  contentType: r.content_type,
  blobKey: r.blob_key,
  status: r.status,
  summary: r.summary,
  createdAt: r.created_at,
  completedAt: r.completed_at,
  expiresAt: r.expires_at,
});

/**
 * Upload records; every query is scoped to the owning lab, and an expired or deleted upload no longer
 * exists. A deleted one stays as a tombstone until its PUT URL expires (see `delete`).
 */
export class UploadStore {
  constructor(private readonly db: Sql) {}

  async create(
    labId: string,
    file: { filename: string; size: number; contentType?: string },
    ttlHours: number,
    putUrlTtlSeconds: number,
  ): Promise<UploadRecord> {
    const id = newId("upl");
    // The lab's own prefix keeps one lab's objects apart from another's in the bucket too.
    const blobKey = `uploads/${labId}/${id}`;
    const [row] = await this.db.query<Row>(
      `insert into uploads (id, lab_id, filename, size, content_type, blob_key, expires_at, put_url_expires_at)
       values ($1, $2, $3, $4, $5, $6, now() + make_interval(hours => $7), now() + make_interval(secs => $8))
       returning *`,
      [id, labId, file.filename, file.size, file.contentType ?? null, blobKey, ttlHours, putUrlTtlSeconds],
    );
    return toRecord(row!);
  }

  async get(labId: string, id: string): Promise<UploadRecord> {
    const [row] = await this.db.query<Row>(
      "select * from uploads where id = $1 and lab_id = $2 and expires_at > now() and status <> 'deleted'",
      [id, labId],
    );
    if (!row) throw new ApiError("not_found", `There is no upload ${id} (uploads expire; create a new one).`);
    return toRecord(row);
  }

  /** The upload, which must be complete: betas are read only from inspected files. */
  async getReady(labId: string, id: string): Promise<UploadRecord & { summary: UploadSummary }> {
    const upload = await this.get(labId, id);
    if (upload.status !== "ready" || !upload.summary) {
      throw new ApiError(
        "upload_not_ready",
        `Upload ${id} is not complete: PUT the file, then POST /v1/uploads/${id}/complete.`,
      );
    }
    return upload as UploadRecord & { summary: UploadSummary };
  }

  /** Records what `complete` found; statistics of an earlier inspection no longer hold and are dropped. */
  async markReady(labId: string, id: string, summary: UploadSummary): Promise<UploadRecord> {
    const [row] = await this.db.query<Row>(
      `with dropped as (delete from upload_session_stats where upload_id = $1)
       update uploads set status = 'ready', summary = $3, completed_at = now()
        where id = $1 and lab_id = $2 and expires_at > now() and status <> 'deleted' returning *`,
      [id, labId, JSON.stringify(summary)],
    );
    if (!row) throw new ApiError("not_found", `There is no upload ${id}.`);
    return toRecord(row);
  }

  /** The session statistics of an upload for a model's voxels, when they have been computed. */
  async sessionStatistics(uploadId: string, model: string): Promise<SessionStatistics | null> {
    const [row] = await this.db.query<StatsRow>(
      "select * from upload_session_stats where upload_id = $1 and model = $2",
      [uploadId, model],
    );
    if (!row) return null;
    return {
      mean: float64s(row.mean),
      std: float64s(row.std),
      trials: row.trials,
      zeroVarianceVoxels: row.zero_variance_voxels,
    };
  }

  /** Keeps the statistics; a concurrent first use computed the same numbers, so the first one stays. */
  async keepSessionStatistics(uploadId: string, model: string, stats: SessionStatistics): Promise<void> {
    await this.db.query(
      `insert into upload_session_stats (upload_id, model, trials, voxels, zero_variance_voxels, mean, std)
       values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing`,
      [
        uploadId,
        model,
        stats.trials,
        stats.mean.length,
        stats.zeroVarianceVoxels,
        new Uint8Array(stats.mean.buffer, stats.mean.byteOffset, stats.mean.byteLength),
        new Uint8Array(stats.std.buffer, stats.std.byteOffset, stats.std.byteLength),
      ],
    );
  }

  /**
   * Deletes the upload: its record loses the filename and summary at once, and stays as a tombstone until
   * the presigned PUT URL has expired, when the sweeper deletes the file key again; so bytes PUT after
   * the delete (S3 cannot revoke a URL) are erased too. The caller deletes the file now.
   */
  async delete(labId: string, id: string): Promise<UploadRecord> {
    const [row] = await this.db.query<Row>(
      `with dropped as (delete from upload_session_stats where upload_id = $1)
       update uploads set status = 'deleted', filename = '', summary = null,
              expires_at = greatest(now(), coalesce(put_url_expires_at, now()))
        where id = $1 and lab_id = $2 and status <> 'deleted' and expires_at > now() returning *`,
      [id, labId],
    );
    if (!row) throw new ApiError("not_found", `There is no upload ${id}.`);
    return toRecord(row);
  }

  /**
   * The upload a presigned PUT writes to, which must still be waiting for its file: once complete (its
   * summary describes these bytes) or deleted, the URL is dead.
   */
  async acceptingFile(blobKey: string): Promise<UploadRecord> {
    const [row] = await this.db.query<Row>("select * from uploads where blob_key = $1", [blobKey]);
    if (!row || row.status === "deleted" || row.expires_at <= new Date()) {
      throw new ApiError("not_found", "The upload behind this URL was deleted or has expired.");
    }
    if (row.status !== "pending") {
      throw new ApiError(
        "conflict",
        `Upload ${row.id} is complete, so its file can no longer change. Create a new upload for new data.`,
      );
    }
    return toRecord(row);
  }

  /** Removes up to `limit` expired uploads and returns their blob keys, for the caller to delete. */
  async takeExpired(limit: number): Promise<string[]> {
    const rows = await this.db.query<{ blob_key: string }>(
      `delete from uploads where id in (select id from uploads where expires_at <= now() limit $1) returning blob_key`,
      [limit],
    );
    return rows.map((r) => r.blob_key);
  }
}
