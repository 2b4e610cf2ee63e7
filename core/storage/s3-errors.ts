import { ApiError } from "../contracts/errors.ts";

/** The HTTP status S3 answered with, when the error came from S3 at all. */
export function s3StatusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/**
 * Turns what S3 or the network threw into an ApiError the API can answer with. ApiErrors pass through
 * (a body stream may fail with one, e.g. a size limit); anything else means S3 could not serve us.
 */
export function toApiError(error: unknown, key: string): ApiError {
  if (error instanceof ApiError) return error;
  const status = s3StatusOf(error);
  if (status === 404) return new ApiError("not_found", `There is no blob ${key}.`);
  if (status === 416) {
    return new ApiError("invalid_request", `The byte range starts past the end of the blob ${key}.`);
  }
  const what = status
    ? `answered ${status} (${(error as Error).name})`
    : `could not be reached (${(error as Error)?.message})`;
  return new ApiError("upstream_unavailable", `The blob store ${what} for ${key}.`, { cause: error });
}
