import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../core/contracts/errors.ts";

const digest = (text: string) => createHash("sha256").update(text).digest();

/** Only the API may call the model routes: `Authorization: Bearer <workerAuthToken(SIGNING_SECRET)>`. */
export function requireWorkerToken(token: string): MiddlewareHandler {
  const expected = digest(token);
  return async (c, next) => {
    const presented = c.req.header("authorization")?.match(/^Bearer\s+(\S+)$/i)?.[1];
    // Compared as digests so the comparison takes the same time whatever the presented length.
    if (!presented || !timingSafeEqual(digest(presented), expected)) {
      throw new ApiError(
        "unauthorized",
        "The model server takes requests from the API only (a bearer token derived from SIGNING_SECRET).",
      );
    }
    await next();
  };
}
