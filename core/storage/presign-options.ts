import { ApiError } from "../contracts/errors.ts";

/** SigV4 presigned URLs live at most seven days; local URLs keep the same ceiling so both backends agree. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export function assertValidExpiry(expiresInSeconds: number): void {
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_PRESIGN_SECONDS) {
    throw new ApiError(
      "invalid_request",
      `A presigned URL must expire in 1 to ${MAX_PRESIGN_SECONDS} whole seconds, not ${expiresInSeconds}.`,
    );
  }
}

export function assertValidMaxBytes(maxBytes: number): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new ApiError(
      "invalid_request",
      `The upload size limit must be a whole number of bytes, not ${maxBytes}.`,
    );
  }
}

/** An attachment disposition whose filename survives any characters: an ASCII fallback plus RFC 5987 UTF-8. */
export function attachmentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, "_");
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
