import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { AppEnv } from "../env.ts";

/**
 * One structured log line and one metrics sample per request, labelled by the matched route pattern
 * (not the raw path, which would leak ids into metric labels). Bodies and headers are never logged.
 * The line carries the request id and lab as fields (requestFields) rather than through a child logger
 * per request: building and rebinding that child was a fifth of a trivial request's own cost.
 */
export function accessLog(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const route = routeLabel(c);
    // c.get, not c.var: Hono builds a fresh object of every variable on each c.var access.
    const { log, metrics } = c.get("services");
    const { method } = c.req;
    const { status } = c.res;
    metrics.observeRequest(method, route, status, seconds);
    // 503 means "retry later" (models warming up, at capacity): expected, so not an error line.
    const level = status >= 500 && status !== 503 ? "error" : "info";
    if (!log.isLevelEnabled(level)) return;
    log[level]({ ...requestFields(c), method, route, status, ms: Math.round(seconds * 1e4) / 10 }, "request");
  };
}

/** The fields that tie a log line to its request: the request id and, once authenticated, the lab. */
export function requestFields(c: Context<AppEnv>): { request_id?: string; lab_id?: string } {
  return { request_id: c.get("requestId"), lab_id: c.get("lab")?.id };
}

function routeLabel(c: Context<AppEnv>): string {
  const path = routePath(c, -1);
  // When the last match is a middleware pattern (`/v1/*`), no route handled the request.
  return path.endsWith("*") ? "unmatched" : path;
}
