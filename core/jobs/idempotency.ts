import { ApiError, problemOf } from "../contracts/errors.ts";
import type { Database, Sql } from "../db/database.ts";
import { toHex } from "../hex.ts";

export interface IdempotentResponse {
  status: number;
  body: unknown;
  /** Response headers to replay (content type, Location); the body is JSON unless `content-type` says not. */
  headers?: Record<string, string>;
}

export interface IdempotencyScope {
  labId: string;
  /** The Idempotency-Key header (1..255 characters). */
  key: string;
  /** requestFingerprint() of the request: a different one under the same key is refused. */
  fingerprint: string;
}

export interface IdempotencyOptions {
  /** How long a duplicate waits for the first request to finish before getting idempotency_key_in_use. */
  waitMs?: number;
  /** How long an in-progress record holds the key; past it (its request died) another request takes over. */
  lockMs?: number;
  /** How long a key is remembered. */
  ttlMs?: number;
}

const DAY_MS = 24 * 3600_000;

/** SHA-256 of the method, path and body (JSON with sorted keys, or raw bytes), so key order does not matter. */
export async function requestFingerprint(method: string, path: string, body: unknown): Promise<string> {
  const utf8 = new TextEncoder();
  const head = utf8.encode(`${method.toUpperCase()} ${path}\n`);
  const tail =
    body instanceof Uint8Array
      ? body
      : utf8.encode(JSON.stringify(body ?? null, (_key, value) => sortKeys(value)));
  const message = new Uint8Array(head.length + tail.length);
  message.set(head);
  message.set(tail, head.length);
  return toHex(await crypto.subtle.digest("SHA-256", message));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function sortKeys(value: unknown): unknown {
  if (!value || typeof value !== "object" || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Idempotency-Key with Stripe's semantics, for any creating POST. The first request inserts an in-progress
 * record (the primary key makes it the only one), then runs `execute` in a transaction that also stores the
 * response, so the creation and its record commit together. A repeat with the same body gets that response
 * replayed; with another body, 422; while the first is still running, it waits up to `waitMs`, then 409.
 * Responses of 4xx ApiErrors are stored too; 5xx and unexpected errors free the key (nothing was committed).
 */
export class IdempotencyStore {
  private readonly waitMs: number;
  private readonly lockMs: number;
  private readonly ttlMs: number;

  constructor(
    private readonly db: Database,
    options: IdempotencyOptions = {},
  ) {
    this.waitMs = options.waitMs ?? 2000;
    this.lockMs = options.lockMs ?? 60_000;
    this.ttlMs = options.ttlMs ?? DAY_MS;
  }

  async run(
    scope: IdempotencyScope,
    execute: (tx: Sql) => Promise<IdempotentResponse>,
  ): Promise<IdempotentResponse & { replayed: boolean }> {
    const begun = await this.begin(scope);
    if ("replay" in begun) return { ...begun.replay, replayed: true };
    const { token } = begun;
    try {
      const response = await this.db.transaction(async (tx) => {
        const response = await execute(tx);
        await this.complete(tx, scope, token, response);
        return response;
      });
      return { ...response, replayed: false };
    } catch (error) {
      if (error instanceof ApiError && error.status < 500 && error.code !== "idempotency_key_in_use") {
        await this.complete(this.db, scope, token, { status: error.status, body: problemOf(error) });
      } else {
        await this.abandon(scope, token);
      }
      throw error;
    }
  }

  /**
   * The first step of `run` for callers that execute the request themselves (the API's middleware): the
   * key is now held by `token` until `complete` stores the response or `abandon` frees it, or it is taken
   * already and its stored response comes back to be replayed.
   */
  async begin(scope: IdempotencyScope): Promise<{ token: string } | { replay: IdempotentResponse }> {
    if (scope.key.length < 1 || scope.key.length > 255) {
      throw new ApiError(
        "invalid_request",
        "Idempotency-Key must be 1 to 255 characters; a UUID v4 is a good choice.",
      );
    }
    const token = toHex(crypto.getRandomValues(new Uint8Array(12)));
    const stored = await this.acquire(scope, token);
    return stored ? { replay: stored } : { token };
  }

  /** Frees a key whose request failed without an answer worth replaying (5xx: nothing was committed). */
  async abandon(scope: IdempotencyScope, token: string): Promise<void> {
    await this.db.query("delete from idempotency_keys where lab_id = $1 and key = $2 and owner_token = $3", [
      scope.labId,
      scope.key,
      token,
    ]);
  }

  /** Adds the headers to replay to a response already stored (by `complete` inside the creating transaction). */
  async storeHeaders(scope: IdempotencyScope, token: string, headers: Record<string, string>): Promise<void> {
    await this.db.query(
      "update idempotency_keys set response_headers = $4 where lab_id = $1 and key = $2 and owner_token = $3",
      [scope.labId, scope.key, token, JSON.stringify(headers)],
    );
  }

  /** Forgets keys past their time; run periodically (the job worker does). */
  async prune(): Promise<number> {
    const rows = await this.db.query("delete from idempotency_keys where expires_at <= now() returning 1");
    return rows.length;
  }

  /** Takes the key for `token` (returns null), or returns the stored response to replay. */
  private async acquire(scope: IdempotencyScope, token: string): Promise<IdempotentResponse | null> {
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      // A new key, or one past its expiry, is ours at once.
      const [taken] = await this.db.query(
        `insert into idempotency_keys (lab_id, key, fingerprint, owner_token, locked_until, expires_at)
         values ($1, $2, $3, $4, now() + $5 * interval '1 millisecond', now() + $6 * interval '1 millisecond')
         on conflict (lab_id, key) do update
           set fingerprint = excluded.fingerprint, owner_token = excluded.owner_token,
               locked_until = excluded.locked_until, expires_at = excluded.expires_at, created_at = now(),
               response_status = null, response_body = null
           where idempotency_keys.expires_at <= now()
         returning 1`,
        [scope.labId, scope.key, scope.fingerprint, token, this.lockMs, this.ttlMs],
      );
      if (taken) return null;
      const [existing] = await this.db.query<{
        fingerprint: string;
        response_status: number | null;
        response_body: unknown;
        response_headers: Record<string, string> | null;
        abandoned: boolean;
      }>(
        `select fingerprint, response_status, response_body, response_headers, locked_until < now() as abandoned
           from idempotency_keys where lab_id = $1 and key = $2`,
        [scope.labId, scope.key],
      );
      if (!existing) continue; // deleted (its request failed) between our two statements: try again
      if (existing.fingerprint !== scope.fingerprint) {
        throw new ApiError(
          "idempotency_key_reused",
          "This Idempotency-Key was used with a different request. Use a new key for a new request.",
        );
      }
      if (existing.response_status !== null) {
        const headers = existing.response_headers ?? undefined;
        return { status: existing.response_status, body: existing.response_body, headers };
      }
      if (existing.abandoned && (await this.takeOver(scope, token))) return null;
      if (Date.now() >= deadline) {
        throw new ApiError(
          "idempotency_key_in_use",
          "A request with this Idempotency-Key is still being processed. Retry after it completes.",
          { headers: { "retry-after": "1" } },
        );
      }
      await sleep(25 + Math.random() * 50);
    }
  }

  private async takeOver(scope: IdempotencyScope, token: string): Promise<boolean> {
    const rows = await this.db.query(
      `update idempotency_keys set owner_token = $3, locked_until = now() + $4 * interval '1 millisecond'
        where lab_id = $1 and key = $2 and response_status is null and locked_until < now() returning 1`,
      [scope.labId, scope.key, token, this.lockMs],
    );
    return rows.length > 0;
  }

  /** Stores the response, only while the key is still ours; otherwise the creation must not commit. */
  async complete(sql: Sql, scope: IdempotencyScope, token: string, response: IdempotentResponse) {
    const rows = await sql.query(
      `update idempotency_keys set response_status = $4, response_body = $5, response_headers = $6
        where lab_id = $1 and key = $2 and owner_token = $3 and response_status is null returning 1`,
      [
        scope.labId,
        scope.key,
        token,
        response.status,
        JSON.stringify(response.body),
        response.headers ? JSON.stringify(response.headers) : null,
      ],
    );
    if (rows.length === 0) {
      throw new ApiError(
        "idempotency_key_in_use",
        "This request took too long and another with the same Idempotency-Key took over.",
      );
    }
  }
}
