import type { Sql } from "../db/database.ts";

export interface RateLimitSettings {
  /** Sustained requests per second a lab may make. */
  perSecond: number;
  /** Requests a lab may make at once after being idle. */
  burst: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * A per-lab request rate limit shared by every API process (Lambda runs many), kept in the database as a
 * generic cell rate algorithm: one row per lab, one statement per request, exact under concurrency.
 */
export class LabRateLimiter {
  readonly #intervalMs: number;
  readonly #toleranceMs: number;

  constructor(
    private readonly db: Sql,
    readonly settings: RateLimitSettings,
  ) {
    this.#intervalMs = 1000 / settings.perSecond;
    this.#toleranceMs = this.#intervalMs * (settings.burst - 1);
  }

  /** Spends one request of `labId`'s budget, or says how long until one is free. */
  async take(labId: string): Promise<RateDecision> {
    const step = "$2 * interval '1 millisecond'";
    const [allowed] = await this.db.query(
      `insert into lab_rate_limits as r (lab_id, tat) values ($1, now() + ${step})
       on conflict (lab_id) do update set tat = greatest(r.tat, now()) + ${step}
        where greatest(r.tat, now()) - now() <= $3 * interval '1 millisecond'
       returning 1`,
      [labId, this.#intervalMs, this.#toleranceMs],
    );
    if (allowed) return { allowed: true };
    const [row] = await this.db.query<{ wait_ms: number }>(
      "select (extract(epoch from (tat - now())) * 1000 - $2)::float8 as wait_ms from lab_rate_limits where lab_id = $1",
      [labId, this.#toleranceMs],
    );
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((row?.wait_ms ?? 0) / 1000)) };
  }
}
