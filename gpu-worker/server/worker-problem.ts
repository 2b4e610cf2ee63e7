import type { Context } from "hono";
import type { Logger } from "pino";
import { ApiError } from "../../core/contracts/errors.ts";
import { problemHttpResponse } from "../../core/contracts/problem-response.ts";

/** Nginx's "client closed request": counted in the metrics, never seen by the (gone) client. */
const CLIENT_CLOSED = 499;

/**
 * Renders a thrown value as an RFC 9457 problem with the API's closed code list, so the API's client
 * can raise the very same ApiError (code, status and headers such as Retry-After) to its caller.
 */
export function workerProblem(c: Context, thrown: unknown, log: Pick<Logger, "error">): Response {
  if (c.req.raw.signal.aborted) return new Response(null, { status: CLIENT_CLOSED });
  const error =
    thrown instanceof ApiError
      ? thrown
      : new ApiError("internal_error", "The model server failed; see its logs.");
  // 503s (queue full, still loading) are expected back-pressure, not failures.
  if (error.status >= 500 && error.status !== 503) {
    log.error(
      { err: thrown, path: c.req.path, request_id: c.req.header("x-request-id") },
      "worker request failed",
    );
  }
  return problemHttpResponse(error);
}
