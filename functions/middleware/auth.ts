import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";

/** Resolves `Authorization: Bearer <key>` to the caller's lab; every /v1 handler can rely on `c.var.lab`. */
export function requireApiKey(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    const match = header?.match(/^Bearer\s+(\S+)$/i);
    const lab = await c.var.services.apiKeys.authenticate(match?.[1]);
    c.set("lab", lab);
    c.set("log", c.var.log.child({ lab_id: lab.id }));
    await next();
  };
}
