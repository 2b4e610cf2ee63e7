import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../core/contracts/errors.ts";
import type { AppEnv } from "../env.ts";
import { parseRequestJson } from "./json-text.ts";

/**
 * Refuses input that would reach the database or a recursive validator as a 500: a NUL character in the
 * path or query, and (when a route parses its JSON body) deep nesting or a NUL in a string. The body is
 * checked as it is parsed, after the route's own size limit, so nothing is read here up front.
 */
export function guardInput(): MiddlewareHandler<AppEnv> {
  // Not async: it does nothing after the request, so it needs no layer of its own.
  return (c, next) => {
    // The whole URL string, not a parsed URL: a host cannot hold a NUL, and parsing cost more than the test.
    if (/%00|\0/.test(c.req.url)) {
      throw new ApiError(
        "invalid_request",
        "The URL contains a NUL character (%00), which no id or parameter can hold. Remove it.",
      );
    }
    const request = c.req as unknown as { json(): Promise<unknown>; text(): Promise<string> };
    request.json = async () => {
      try {
        return parseRequestJson(await request.text());
      } catch (error) {
        // Hono's validator turns any parse failure into "Malformed JSON"; the error handler tells this one.
        if (error instanceof ApiError) c.set("refusedBody", error);
        throw error;
      }
    };
    return next();
  };
}
