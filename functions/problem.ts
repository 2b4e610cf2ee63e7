import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ZodError } from "zod";
import { ApiError, type ErrorCode, problemOf } from "../core/contracts/errors.ts";
import type { AppEnv } from "./env.ts";

/** Hono's own exceptions (media-type gate, malformed JSON) in our vocabulary. */
const HTTP_EXCEPTION_CODES: Record<number, ErrorCode> = {
  400: "invalid_request",
  401: "unauthorized",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
};

/** Renders any thrown value as an RFC 9457 problem; unknown errors become a 500 that hides internals. */
export function problemResponse(c: Context<AppEnv>, thrown: unknown): Response {
  const error =
    thrown instanceof ApiError
      ? thrown
      : thrown instanceof HTTPException && HTTP_EXCEPTION_CODES[thrown.status]
        ? new ApiError(HTTP_EXCEPTION_CODES[thrown.status]!, thrown.message)
        : new ApiError(
            "internal_error",
            "Something failed on our side. Retry later, quoting the request_id.",
          );
  const requestId = c.get("requestId");
  // 503 (not_ready while models warm up, overloaded) asks the client to retry; it is not a fault.
  if (error.status >= 500 && error.status !== 503) {
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
