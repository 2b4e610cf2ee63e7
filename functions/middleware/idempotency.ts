import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ApiError, type ErrorCode } from "../../core/contracts/errors.ts";
import type { Sql } from "../../core/db/database.ts";
import { requestFingerprint } from "../../core/jobs/idempotency.ts";
import type { AppEnv } from "../env.ts";

/** Request headers of a creating POST, for its route schema (so /openapi.json documents the key). */
export const IdempotencyKeyHeaders = z.object({
  "idempotency-key": z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({
      description:
        "Makes retries safe: the same key and body within 24 h get the first response again (with " +
        "Idempotent-Replayed: true) instead of creating twice; the same key with another body gets 422.",
      example: "4f8f4b7e-8f0a-4a55-b4d7-2b1c5c1f3a9e",
    }),
});

/** Problem statuses an idempotent route adds: 409 idempotency_key_in_use, 422 idempotency_key_reused. */
export const IDEMPOTENCY_PROBLEM_STATUSES = [409, 422] as const;

export interface CreatedResponse<Status extends number, Body> {
  status: Status;
  body: Body;
}

/**
 * Runs a creating POST under its `Idempotency-Key` (Stripe semantics, see core/jobs/idempotency.ts).
 * `fingerprintBody` is what makes two requests "the same" besides method and path: the validated body.
 * `create` gets the transaction that also stores the response, so the creation and its record commit
 * together; it must use that `tx` for every database write, since on PGlite a query outside it waits for
 * the transaction and never returns. Without the header `tx` is undefined and `create` just runs.
 * A replayed success comes back as stored, with `Idempotent-Replayed: true` set on the response; a replayed
 * 4xx is thrown again as the ApiError it was, so it renders like the original.
 */
export async function idempotent<Status extends number, Body>(
  c: Context<AppEnv>,
  fingerprintBody: unknown,
  create: (tx?: Sql) => Promise<CreatedResponse<Status, Body>>,
): Promise<CreatedResponse<Status, Body>> {
  const key = c.req.header("idempotency-key");
  if (key === undefined) return create();
  const result = await c.var.services.idempotency.run(
    {
      labId: c.var.lab.id,
      key,
      fingerprint: requestFingerprint(c.req.method, c.req.path, fingerprintBody),
    },
    create,
  );
  if (result.replayed) {
    c.header("Idempotent-Replayed", "true");
    if (result.status >= 400) throw replayedError(result.body);
  }
  // Either `create`'s own result or the JSON stored from it: the same status and body either way.
  return { status: result.status as Status, body: result.body as Body };
}

/** The ApiError a stored problem body came from (its extension members become fields again). */
function replayedError(problem: unknown): ApiError {
  const {
    type: _type,
    title: _title,
    status: _status,
    request_id: _requestId,
    code,
    detail,
    ...fields
  } = problem as { code: ErrorCode; detail: string } & Record<string, unknown>;
  return new ApiError(code, detail, { fields, headers: { "idempotent-replayed": "true" } });
}
