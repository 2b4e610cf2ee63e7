import type { BlobStore } from "../storage/blob-store.ts";
import type { UploadStore } from "./upload-store.ts";

const SWEEP_EVERY_MS = 10 * 60_000;
const BATCH = 100;

/**
 * Deletes expired uploads and their files, every ten minutes and once at start. The record goes first, so
 * an upload is never served after expiry; a crash between the two leaves only an orphan file, which the
 * bucket's lifecycle rule (infra/storage.ts) removes at scale.
 */
export function startExpiredUploadSweeper(
  uploads: UploadStore,
  blobs: BlobStore,
  log: { warn(obj: object, msg: string): void },
): { stop(): void } {
  const sweep = async () => {
    try {
      for (;;) {
        const keys = await uploads.takeExpired(BATCH);
        for (const key of keys) await blobs.delete(key);
        if (keys.length < BATCH) return;
      }
    } catch (error) {
      log.warn({ err: error }, "expired upload sweep failed; will retry");
    }
  };
  void sweep();
  const timer = setInterval(() => void sweep(), SWEEP_EVERY_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
