import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";

/**
 * Resolves `Authorization: Bearer <key>` to the caller's lab; every /v1 handler can rely on `c.var.lab`.
 * A key verified within the cache period is taken without an await, so most requests get no async
 * layer here.
 */
export function requireApiKey(): MiddlewareHandler<AppEnv> {
  return (c, next) => {
    const header = c.req.header("authorization");
    const key = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
    // c.get, not c.var: Hono builds a fresh object of every variable on each c.var access.
    const { apiKeys } = c.get("services");
    const verified = key === undefined ? undefined : apiKeys.verifiedLab(key);
    if (verified) {
      c.set("lab", verified);
      return next();
    }
    return apiKeys.authenticate(key).then((lab) => {
      c.set("lab", lab);
      return next();
    });
  };
}
