import { assertValidKey } from "../storage/blob-keys.ts";

/**
 * The images of a hosted index live in the blob store under `indexes/<index>/images/`; a point's payload
 * names its image by blob key in `image_key`, and the API answers with a signed URL in `image` instead
 * (functions/presenters/search-hits.ts). Keys, not URLs, are stored: signed URLs expire.
 */
const INDEX_IMAGES_PREFIX = "indexes/";

export const indexImageKey = (index: string, file: string): string =>
  `${INDEX_IMAGES_PREFIX}${index}/images/${file}`;

/**
 * Only keys under the index images' prefix are ever signed, whatever a payload says: a payload naming a
 * lab's upload or output must not become a URL to it.
 */
export function isIndexImageKey(key: string): boolean {
  if (!key.startsWith(INDEX_IMAGES_PREFIX)) return false;
  try {
    assertValidKey(key);
    return true;
  } catch {
    return false;
  }
}
