/**
 * The one closed list of error codes the API can return. Each code has a fixed HTTP status and title;
 * the `detail` of each raised error tells the caller what to change. Adding a code is an API change:
 * add it here, and document it in docs/api.md.
 */
export const ERROR_CODES = {
  // request shape and auth
  invalid_request: { status: 400, title: "The request is not valid" },
  unauthorized: { status: 401, title: "Missing or invalid API key" },
  forbidden: { status: 403, title: "Not allowed" },
  invalid_signature: { status: 403, title: "The signed URL is invalid or expired" },
  not_found: { status: 404, title: "Not found" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  conflict: { status: 409, title: "The resource is not in a state that allows this" },
  payload_too_large: { status: 413, title: "The request body is too large" },
  sync_limit_exceeded: { status: 413, title: "Too large for a synchronous request" },
  unsupported_media_type: { status: 415, title: "Unsupported content type" },
  idempotency_key_reused: { status: 422, title: "Idempotency-Key was used with a different request" },
  idempotency_key_in_use: { status: 409, title: "A request with this Idempotency-Key is still running" },

  // betas and uploaded files
  unsupported_format: { status: 415, title: "Unsupported file format" },
  invalid_file: { status: 422, title: "The file could not be read" },
  truncated_file: { status: 422, title: "The file is truncated" },
  file_too_large: { status: 413, title: "The file needs more memory than allowed" },
  decompression_bomb: { status: 413, title: "The file decompresses past the allowed size" },
  voxel_count_mismatch: { status: 422, title: "Wrong number of voxels for this model" },
  betas_transposed: { status: 422, title: "The betas are [voxels, trials]; send [trials, voxels]" },
  grid_mismatch: { status: 422, title: "The volume's grid does not match the model's" },
  non_finite_values: { status: 422, title: "The betas contain NaN or infinite values" },
  invalid_preprocessing: { status: 422, title: "The preprocessing settings do not fit the data" },
  upload_not_ready: { status: 409, title: "The upload has not been completed" },

  // models, indexes, jobs, webhooks
  model_not_found: { status: 404, title: "No such model" },
  index_not_found: { status: 404, title: "No such index" },
  invalid_bundle: { status: 500, title: "The model bundle is invalid" },
  invalid_vector: { status: 422, title: "The vector is not valid for this index" },
  webhook_url_refused: { status: 422, title: "The webhook URL is not allowed" },
  job_not_cancelable: { status: 409, title: "The job has already finished" },
  model_cannot_reconstruct: { status: 422, title: "The model's bundle cannot reconstruct images" },
  deadline_exceeded: { status: 504, title: "The job did not finish by its deadline" },

  // capacity and failures
  rate_limited: { status: 429, title: "Too many requests" },
  overloaded: { status: 503, title: "The service is at capacity; retry later" },
  not_ready: { status: 503, title: "The service is not ready" },
  upstream_unavailable: { status: 502, title: "A backing service did not answer" },
  internal_error: { status: 500, title: "Internal error" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * A failure the caller can act on. Thrown anywhere (core, worker, routes); the app's error handler
 * turns it into an RFC 9457 problem. `fields` become extension members of the problem object.
 */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly fields: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    detail: string,
    options: { fields?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = "ApiError";
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.fields = options.fields ?? {};
    this.headers = options.headers ?? {};
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  request_id?: string;
  [extension: string]: unknown;
}

export function problemOf(error: ApiError, requestId?: string): Problem {
  return {
    ...error.fields,
    type: `urn:mindeye:problem:${error.code}`,
    title: ERROR_CODES[error.code].title,
    status: error.status,
    detail: error.message,
    code: error.code,
    ...(requestId ? { request_id: requestId } : {}),
  };
}
