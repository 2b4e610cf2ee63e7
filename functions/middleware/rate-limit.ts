import type { MiddlewareHandler } from "hono";
import type { LabRateLimiter } from "../../core/auth/lab-rate-limiter.ts";
import { ApiError } from "../../core/contracts/errors.ts";
import type { AppEnv } from "../env.ts";

/**
 * Per-lab request rate limit on /v1, after auth: over its rate a lab gets 429 `rate_limited` with
 * Retry-After, the signal well-behaved clients (Replicate's, Stripe's) back off on. The app registers it
 * only where a limiter is configured.
 */
export function rateLimit(limiter: LabRateLimiter): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const decision = await limiter.take(c.get("lab").id);
    if (!decision.allowed) {
      const { perSecond, burst } = limiter.settings;
      throw new ApiError(
        "rate_limited",
        `This lab sent more than ${perSecond} requests per second (bursts up to ${burst}). ` +
          `Retry after ${decision.retryAfterSeconds} s, and pace requests or batch trials into fewer calls.`,
        {
          headers: { "retry-after": String(decision.retryAfterSeconds) },
          fields: { retry_after_seconds: decision.retryAfterSeconds },
        },
      );
    }
    await next();
  };
}
