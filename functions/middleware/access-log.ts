import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { AppEnv } from "../env.ts";

/**
 * One structured log line and one metrics sample per request, labelled by the matched route pattern
 * (not the raw path, which would leak ids into metric labels). Bodies and headers are never logged.
 */
export function accessLog(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    // c.get, not c.var: Hono builds a fresh object of every variable on each c.var access.
    const { log: rootLog, metrics } = c.get("services");
    c.set("log", rootLog.child({ request_id: c.get("requestId") }));
    await next();
    const seconds = (performance.now() - started) / 1000;
    const route = routeLabel(c);
    metrics.observeRequest(c.req.method, route, c.res.status, seconds);
    // 503 means "retry later" (models warming up, at capacity): expected, so not an error line.
    const level = c.res.status >= 500 && c.res.status !== 503 ? "error" : "info";
    c.get("log")[level](
      { method: c.req.method, route, status: c.res.status, ms: Math.round(seconds * 1e4) / 10 },
      "request",
    );
  };
}

function routeLabel(c: Parameters<MiddlewareHandler<AppEnv>>[0]): string {
  const path = routePath(c, -1);
  // When the last match is a middleware pattern (`/v1/*`), no route handled the request.
  return path.endsWith("*") ? "unmatched" : path;
}
