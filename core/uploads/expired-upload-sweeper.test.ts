import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseBackends } from "../../test/helpers/databases.ts";
import { ApiKeyStore } from "../auth/api-keys.ts";
import type { Database } from "../db/database.ts";
import { LocalBlobStore } from "../storage/local-blob-store.ts";
import { startExpiredUploadSweeper } from "./expired-upload-sweeper.ts";
import { UploadStore } from "./upload-store.ts";

describe.each(databaseBackends)("expired upload sweeper: $name", (backend) => {
  let db: Database;
  let dir: string;
  beforeAll(async () => {
    db = await backend.open();
    dir = await mkdtemp(path.join(os.tmpdir(), "sweeper-"));
  });
  afterAll(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("deletes expired uploads and their files, and keeps live ones", async () => {
    const lab = await new ApiKeyStore(db).ensureLab("lab-sweep");
    const uploads = new UploadStore(db);
    const blobs = new LocalBlobStore({ root: dir, publicBaseUrl: "http://x", signingSecret: "s".repeat(32) });
    const old = await uploads.create(lab.id, { filename: "old.nii", size: 3 }, 1, 3600);
    const live = await uploads.create(lab.id, { filename: "live.nii", size: 3 }, 1, 3600);
    await blobs.put(old.blobKey, "old");
    await blobs.put(live.blobKey, "new");
    await db.query("update uploads set expires_at = now() - interval '1 second' where id = $1", [old.id]);

    const sweeper = startExpiredUploadSweeper(uploads, blobs, { warn: () => {} });
    await expect.poll(() => blobs.head(old.blobKey)).toBeNull();
    sweeper.stop();
    await expect(uploads.get(lab.id, old.id)).rejects.toMatchObject({ code: "not_found" });
    expect((await uploads.get(lab.id, live.id)).id).toBe(live.id);
    expect(await blobs.head(live.blobKey)).not.toBeNull();
  });

  it("erases bytes a still-valid PUT URL wrote after the upload was deleted, once that URL has expired", async () => {
    const lab = await new ApiKeyStore(db).ensureLab("lab-sweep-tombstone");
    const uploads = new UploadStore(db);
    const blobs = new LocalBlobStore({ root: dir, publicBaseUrl: "http://x", signingSecret: "s".repeat(32) });
    const upload = await uploads.create(lab.id, { filename: "subj01.nii", size: 3 }, 1, 1);
    await uploads.delete(lab.id, upload.id);
    await expect(uploads.get(lab.id, upload.id)).rejects.toMatchObject({ code: "not_found" });
    const [tombstone] = await db.query<{ filename: string; status: string }>(
      "select filename, status from uploads where id = $1",
      [upload.id],
    );
    expect(tombstone).toEqual({ filename: "", status: "deleted" });
    // An S3 presigned URL cannot be revoked: its holder writes after the delete.
    await blobs.put(upload.blobKey, "new");
    await new Promise((r) => setTimeout(r, 1100));

    const sweeper = startExpiredUploadSweeper(uploads, blobs, { warn: () => {} });
    await expect.poll(() => blobs.head(upload.blobKey)).toBeNull();
    sweeper.stop();
    await expect.poll(() => db.query("select 1 from uploads where id = $1", [upload.id])).toEqual([]);
  });
});
