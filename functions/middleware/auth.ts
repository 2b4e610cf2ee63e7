import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";

/** Resolves `Authorization: Bearer <key>` to the caller's lab; every /v1 handler can rely on `c.var.lab`. */
export function requireApiKey(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    const match = header?.match(/^Bearer\s+(\S+)$/i);
    // c.get, not c.var: Hono builds a fresh object of every variable on each c.var access.
    const lab = await c.get("services").apiKeys.authenticate(match?.[1]);
    c.set("lab", lab);
    await next();
  };
}
