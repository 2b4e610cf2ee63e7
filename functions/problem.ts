import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ZodError } from "zod";
import { ApiError, type ErrorCode } from "../core/contracts/errors.ts";
import { problemHttpResponse } from "../core/contracts/problem-response.ts";
import type { AppEnv } from "./env.ts";
import { requestFields } from "./middleware/access-log.ts";

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
    c.get("services")?.log.error({ ...requestFields(c), err: thrown, code: error.code }, "request failed");
  }
  // The id goes in the body here; the request-id middleware sets its header on every final response.
  return problemHttpResponse(error, requestId);
}

/**
 * Turns zod's issues into one invalid_request naming each bad field and what it expected. A value that
 * fits none of a union's forms gets the union's message (the accepted forms) and the nearest form's issue.
 */
export function validationError(target: string, error: ZodError): ApiError {
  const where = target === "json" ? "body" : target;
  const issues = error.issues.map((issue) => describeIssue(where, [], issue));
  const first = issues[0];
  return new ApiError(
    "invalid_request",
    first ? `${first.path}: ${first.message}` : `The ${where} is not valid.`,
    { fields: { errors: issues } },
  );
}

function describeIssue(
  where: string,
  prefix: PropertyKey[],
  issue: ZodError["issues"][number],
): { path: string; message: string } {
  const at = [...prefix, ...issue.path];
  if (issue.code === "invalid_union" && issue.errors.length > 0) {
    // The form the value came closest to: the fewest issues, unknown fields counting least.
    const weight = (branch: ZodError["issues"]) =>
      branch.reduce((n, i) => n + (i.code === "unrecognized_keys" ? 1 : 2), 0);
    const nearest = [...issue.errors].sort((a, b) => weight(a) - weight(b))[0]!;
    const inner = nearest[0] ? describeIssue(where, at, nearest[0]) : undefined;
    return {
      path: [where, ...at.map(String)].join("."),
      message: inner ? `${issue.message}. Nearest: ${inner.path}: ${inner.message}` : issue.message,
    };
  }
  return { path: [where, ...at.map(String)].join("."), message: issue.message };
}
