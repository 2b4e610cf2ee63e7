/**
 * The stimulus PNGs in the blob store, where the API serves them as signed URLs (the stimulus index's
 * payloads name them by `image_key`, core/search/index-images.ts). Idempotent: an image whose stored etag
 * (the MD5 of its bytes, on the local folder and S3 alike) already matches is not sent again.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { indexImageKey } from "../../core/search/index-images.ts";
import type { BlobStore } from "../../core/storage/blob-store.ts";
import { STIMULUS_INDEX } from "./sim01-spec.ts";
import type { StimulusRecord } from "./stimulus-files.ts";

const PUT_BATCH = 16;

export const stimulusImageKey = (stimulusId: string): string =>
  indexImageKey(STIMULUS_INDEX, `${stimulusId}.png`);

/** Puts every stimulus PNG that is missing or different; returns how many were put. */
export async function publishStimulusImages(
  blobs: BlobStore,
  stimuliDir: string,
  records: StimulusRecord[],
): Promise<number> {
  const stored = new Map<string, string | undefined>();
  for await (const head of blobs.list(indexImageKey(STIMULUS_INDEX, ""))) stored.set(head.key, head.etag);
  let put = 0;
  for (let start = 0; start < records.length; start += PUT_BATCH) {
    await Promise.all(
      records.slice(start, start + PUT_BATCH).map(async (record) => {
        const key = stimulusImageKey(record.stimulus_id);
        const png = await readFile(join(stimuliDir, `${record.stimulus_id}.png`));
        if (stored.get(key) === `"${createHash("md5").update(png).digest("hex")}"`) return;
        await blobs.put(key, png, { contentType: "image/png", size: png.byteLength });
        put++;
      }),
    );
  }
  return put;
}
