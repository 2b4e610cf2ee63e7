import { ApiError } from "../contracts/errors.ts";

/** Opaque list cursors: the (created_at in microseconds, id) of the last job of a page, base64url. */
export function encodeJobCursor(createdUs: number, id: string): string {
  return Buffer.from(`${createdUs}:${id}`).toString("base64url");
}

export function decodeJobCursor(cursor: string): { createdUs: number; id: string } {
  const match = /^(\d{1,17}):([a-z]+_[a-z2-7]+)$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!match)
    throw new ApiError("invalid_request", "The cursor is not one this API returned; pass next_cursor as is.");
  return { createdUs: Number(match[1]), id: match[2]! };
}
