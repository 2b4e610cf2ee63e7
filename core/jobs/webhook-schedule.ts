/**
 * Delays before each retry of a webhook event, after the first (immediate) attempt: Standard Webhooks'
 * example schedule, about three days in all. After the last retry fails the event is given up.
 */
export const WEBHOOK_RETRY_DELAYS_MS = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3600_000,
  5 * 3600_000,
  10 * 3600_000,
  14 * 3600_000,
  20 * 3600_000,
  24 * 3600_000,
];

/** A Retry-After longer than this is not honoured as such; the event would outlive its schedule. */
const MAX_RETRY_AFTER_MS = 24 * 3600_000;

/**
 * The delay before the next attempt, or null when the schedule is exhausted. `jitter` spreads retries
 * (±fraction) so that a receiver coming back up is not hit by every event at once; a Retry-After from the
 * receiver is honoured when it asks for longer than the schedule.
 */
export function nextRetryDelayMs(
  retryStep: number,
  options: { delaysMs: readonly number[]; jitter: number; retryAfterMs: number | null },
): number | null {
  const base = options.delaysMs[retryStep];
  if (base === undefined) return null;
  const jittered = base * (1 + options.jitter * (2 * Math.random() - 1));
  return Math.round(Math.max(jittered, Math.min(options.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS)));
}

/** Retry-After as milliseconds from now: delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
