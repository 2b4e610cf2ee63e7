import type { MiddlewareHandler } from "hono";
import { newId } from "../../core/ids.ts";
import type { AppEnv } from "../env.ts";

// A caller-supplied id is kept only if it is short and plain, so it can't inject into logs or headers.
const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every request an id (the caller's `x-request-id` if sane), echoed in the response header. The
 * header goes on the final response, not through `c.header()` before it: that makes Hono build a
 * `Headers` for every response and copy it into each one, and misses responses a middleware returns
 * itself (an idempotent replay). Every response here is built by the app, so its headers are mutable.
 */
export function requestId(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header("x-request-id");
    const id = incoming && ACCEPTABLE_ID.test(incoming) ? incoming : newId("req");
    c.set("requestId", id);
    await next();
    c.res.headers.set("x-request-id", id);
  };
}
