import { bodyLimit } from "hono/body-limit";
import { ApiError } from "../../core/contracts/errors.ts";

/** Per-route request body cap; a larger body is refused with 413 naming the limit. */
export function limitBody(maxBytes: number, hint = "") {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError(
        "payload_too_large",
        `The request body is larger than this route's limit of ${maxBytes} bytes.${hint ? ` ${hint}` : ""}`,
        { fields: { limit_bytes: maxBytes } },
      );
    },
  });
}
