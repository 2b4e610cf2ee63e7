import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Sql } from "../../core/db/database.ts";
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
 * Runs a creating POST so that, under an `Idempotency-Key` (held by the idempotency-key middleware), the
 * creation and its stored response commit in one transaction. `create` gets that transaction and must use
 * it for every database write, since on PGlite a query outside it waits for the transaction and never
 * returns. Without the header `tx` is undefined and `create` just runs. Replays never reach the route:
 * the middleware answers them.
 */
export async function idempotent<Status extends number, Body>(
  c: Context<AppEnv>,
  create: (tx?: Sql) => Promise<CreatedResponse<Status, Body>>,
): Promise<CreatedResponse<Status, Body>> {
  const held = c.get("idempotency");
  if (!held) return create();
  const { db, idempotency } = c.var.services;
  const created = await db.transaction(async (tx) => {
    const response = await create(tx);
    await idempotency.complete(tx, held.scope, held.token, response);
    return response;
  });
  held.stored = true;
  return created;
}
