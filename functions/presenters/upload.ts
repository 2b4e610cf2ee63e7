import type { UploadRecord } from "../../core/uploads/upload-store.ts";

/** The wire form of an upload: its record, plus what `complete` found in the file once it has run. */
export function presentUpload(upload: UploadRecord) {
  const {
    read: _read,
    etag: _etag,
    ...summary
  } = upload.summary ?? ({} as Partial<NonNullable<UploadRecord["summary"]>>);
  return {
    id: upload.id,
    // Deleted uploads are never found, so never shown.
    status: upload.status as "pending" | "ready",
    filename: upload.filename,
    size: upload.size,
    created_at: upload.createdAt.toISOString(),
    expires_at: upload.expiresAt.toISOString(),
    ...summary,
  };
}
