import { QdrantClientResourceExhaustedError, QdrantClientTimeoutError } from "@qdrant/js-client-rest";
import pRetry, { AbortError } from "p-retry";
import { ApiError } from "../../contracts/errors.ts";

const RETRY_AFTER_CAP_MS = 30_000;

/** The HTTP status of a failed Qdrant call (the client throws the fetcher's error, which carries it). */
function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === "number" ? status : undefined;
}

/** Overload, server faults, timeouts and dropped connections are worth another try; a 4xx is not. */
export function isTransient(error: unknown): boolean {
  if (error instanceof QdrantClientResourceExhaustedError || error instanceof QdrantClientTimeoutError)
    return true;
  const status = statusOf(error);
  if (status !== undefined) return status === 429 || status >= 500;
  // undici reports refused/reset connections as `TypeError: fetch failed` with a coded cause.
  return error instanceof TypeError && error.message === "fetch failed";
}

/**
 * Runs one Qdrant call with exponential backoff and jitter on transient failures, honouring Retry-After
 * on 429. What is still failing afterwards becomes an ApiError the API can answer with.
 */
export async function withRetries<T>(
  what: string,
  retries: number,
  call: () => Promise<T>,
  onMissing?: () => ApiError,
): Promise<T> {
  try {
    return await pRetry(
      async () => {
        try {
          return await call();
        } catch (error) {
          if (isTransient(error)) throw error;
          throw new AbortError(error as Error);
        }
      },
      {
        retries,
        minTimeout: 200,
        maxTimeout: 10_000,
        randomize: true,
        onFailedAttempt: async ({ error }) => {
          if (error instanceof QdrantClientResourceExhaustedError && error.retry_after > 0) {
            await new Promise((r) => setTimeout(r, Math.min(error.retry_after * 1000, RETRY_AFTER_CAP_MS)));
          }
        },
      },
    );
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const status = statusOf(error);
    if (status === 404 && onMissing) throw onMissing();
    if (status !== undefined && status >= 400 && status < 500 && status !== 429) {
      throw new ApiError("invalid_request", `Qdrant refused ${what}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    throw new ApiError(
      "upstream_unavailable",
      `Qdrant did not complete ${what}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}
