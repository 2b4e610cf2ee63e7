import type { Context } from "hono";
import type { ZodError } from "zod";
import { ApiError, problemOf } from "../core/contracts/errors.ts";
import type { AppEnv } from "./env.ts";

/** Renders any thrown value as an RFC 9457 problem; unknown errors become a 500 that hides internals. */
export function problemResponse(c: Context<AppEnv>, thrown: unknown): Response {
  const error =
    thrown instanceof ApiError
      ? thrown
      : new ApiError("internal_error", "Something failed on our side. Retry later, quoting the request_id.");
  const requestId = c.get("requestId");
  if (error.status >= 500) {
    c.get("log")?.error({ err: thrown, code: error.code }, "request failed");
  }
  const headers: Record<string, string> = { "content-type": "application/problem+json", ...error.headers };
  // A Response built here bypasses c.header(), so the request id is set again.
  if (requestId) headers["x-request-id"] = requestId;
  return new Response(JSON.stringify(problemOf(error, requestId)), { status: error.status, headers });
}

/** Turns zod's issues into one invalid_request naming each bad field and what it expected. */
export function validationError(where: string, error: ZodError): ApiError {
  const issues = error.issues.map((i) => ({
    path: [where, ...i.path.map(String)].join("."),
    message: i.message,
  }));
  const first = issues[0];
  return new ApiError(
    "invalid_request",
    first ? `${first.path}: ${first.message}` : `The ${where} is not valid.`,
    { fields: { errors: issues } },
  );
}
