import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../core/contracts/errors.ts";

/**
 * Refuses a body of any other media type with 415 naming the ones this route takes (and what each is
 * for), before the body is read. A request without a body passes; the route decides if it needs one.
 */
export function acceptContentTypes(types: Record<string, string>): MiddlewareHandler {
  const names = Object.keys(types);
  return async (c, next) => {
    const header = c.req.header("content-type");
    const sent = (header ?? "").split(";")[0]!.trim().toLowerCase();
    const length = c.req.header("content-length");
    if (sent ? !names.includes(sent) : length !== undefined && length !== "0") {
      throw new ApiError(
        "unsupported_media_type",
        `This route takes ${Object.entries(types)
          .map(([type, what]) => `${type} (${what})`)
          .join(" or ")}; the request's Content-Type is ${header ? `"${header}"` : "missing"}.`,
        { fields: { accepted_content_types: names } },
      );
    }
    await next();
  };
}
