import { isIndexImageKey } from "../../core/search/index-images.ts";
import type { Payload } from "../../core/search/vector-index.ts";
import type { BlobStore } from "../../core/storage/blob-store.ts";

/** How long an image URL in a retrieval answer stays valid; ask again for fresh ones. */
export const IMAGE_URL_TTL_SECONDS = 3600;

/**
 * Search hits as labs get them, from POST /v1/retrievals and from a retrievals job's results alike: a
 * payload's stored `image_key` (an index image in the blob store) becomes `image`, a signed GET URL that
 * needs no API key, and `image_expires_at`. Each image is signed once per answer.
 */
export async function presentSearchHits<Hit extends { payload: Payload }>(
  results: Hit[][],
  blobs: BlobStore,
): Promise<Hit[][]> {
  const signed = new Map<string, Promise<{ url: string; expiresAt: Date }>>();
  const sign = (key: string) => {
    let get = signed.get(key);
    if (!get) {
      get = blobs.presignGet(key, { expiresInSeconds: IMAGE_URL_TTL_SECONDS });
      signed.set(key, get);
    }
    return get;
  };
  return Promise.all(
    results.map((hits) =>
      Promise.all(
        hits.map(async (hit) => {
          const { image_key: key, ...payload } = hit.payload;
          if (typeof key !== "string" || !isIndexImageKey(key)) return hit;
          const { url, expiresAt } = await sign(key);
          return { ...hit, payload: { ...payload, image: url, image_expires_at: expiresAt.toISOString() } };
        }),
      ),
    ),
  );
}
