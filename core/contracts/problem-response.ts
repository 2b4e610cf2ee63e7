import { ApiError, ERROR_CODES, type ErrorCode, problemOf } from "./errors.ts";

/** Members of a problem that are not extension fields. */
const PROBLEM_MEMBERS = new Set(["type", "title", "status", "detail", "code", "request_id"]);
/** Response headers an error keeps, so a caller can act on them (e.g. wait before retrying). */
const KEPT_HEADERS = ["retry-after"];

/**
 * The one path from a thrown ApiError to its `application/problem+json` answer (the API's and the model
 * server's error handlers both answer through it): the problem body, the error's headers (Retry-After),
 * and the request id in the body and in `x-request-id` where there is one.
 */
export function problemHttpResponse(error: ApiError, requestId?: string): Response {
  const headers: Record<string, string> = { "content-type": "application/problem+json", ...error.headers };
  if (requestId) headers["x-request-id"] = requestId;
  return new Response(JSON.stringify(problemOf(error, requestId)), { status: error.status, headers });
}

/** An ApiError that another mindeye server answered with, remembering which request it was. */
export class RemoteApiError extends ApiError {
  readonly requestId: string | undefined;

  constructor(
    code: ErrorCode,
    detail: string,
    options: { fields: Record<string, unknown>; headers: Record<string, string>; requestId?: string },
  ) {
    super(code, detail, options);
    this.name = "RemoteApiError";
    this.requestId = options.requestId;
  }
}

/** What a failed response was: one of our problems, or something else (a proxy's page, another server). */
export type FailedResponse = { error: RemoteApiError } | { error: undefined; status: number; text: string };

/**
 * The one path from an `application/problem+json` answer of a mindeye API or worker back to the ApiError
 * that was thrown there (code, detail, extension fields, Retry-After, request id). A body that is not a
 * problem with a code from our closed list comes back as its status and first 200 characters, for the
 * caller to describe in its own terms.
 */
export async function readFailedResponse(response: Response): Promise<FailedResponse> {
  const text = await response.text().catch(() => "");
  const other = { error: undefined, status: response.status, text: text.slice(0, 200) };
  if (!response.headers.get("content-type")?.startsWith("application/problem+json")) return other;
  let problem: Record<string, unknown>;
  try {
    problem = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return other;
  }
  const headers: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = response.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  const error = apiErrorOfProblem(problem, headers);
  return error ? { error } : other;
}

/** A problem object (a response body, or a failed job's `error`) as the ApiError it was; undefined if not one. */
export function apiErrorOfProblem(
  problem: unknown,
  headers: Record<string, string> = {},
): RemoteApiError | undefined {
  if (!problem || typeof problem !== "object") return undefined;
  const { code, detail, request_id } = problem as Record<string, unknown>;
  if (typeof code !== "string" || !(code in ERROR_CODES)) return undefined;
  const fields = Object.fromEntries(Object.entries(problem).filter(([k]) => !PROBLEM_MEMBERS.has(k)));
  return new RemoteApiError(code as ErrorCode, String(detail ?? ""), {
    fields,
    headers,
    requestId: typeof request_id === "string" ? request_id : undefined,
  });
}
