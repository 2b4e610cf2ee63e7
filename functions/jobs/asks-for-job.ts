import type { Context } from "hono";
import type { AppEnv } from "../env.ts";
import { parsePrefer } from "./prefer.ts";

/**
 * Whether a request that could be answered synchronously must run as a job anyway: it asked to
 * (`Prefer: respond-async`), or it named a `webhook`, which only a job sends. A webhook is never dropped.
 */
export function asksForJob(c: Context<AppEnv>, body: { webhook?: unknown }): boolean {
  return parsePrefer(c.req.header("prefer")).respondAsync || body.webhook !== undefined;
}
