import { ApiError } from "../../core/contracts/errors.ts";
import type { App } from "../env.ts";
import type { AppServices } from "../services.ts";

export { LOCAL_BLOB_PATH as BLOB_ROUTE_PREFIX } from "../../core/storage/local-presigned-url.ts";

import { LOCAL_BLOB_PATH as BLOB_ROUTE_PREFIX } from "../../core/storage/local-presigned-url.ts";

/**
 * Serves the local blob store's presigned URLs: the signature (method, key, expiry, size limit) is the
 * authorization, so these routes take no API key. Absent when blobs live in S3, which serves its own.
 */
export function registerBlobs(app: App): void {
  app.put(`${BLOB_ROUTE_PREFIX}*`, async (c) => {
    const grant = verify(c.var.services, "PUT", c.req.url);
    const declared = Number(c.req.header("content-length") ?? Number.NaN);
    if (grant.maxBytes !== undefined && declared > grant.maxBytes) {
      throw tooLarge(grant.maxBytes);
    }
    const body = c.req.raw.body;
    if (!body) throw new ApiError("invalid_request", "Send the file's bytes as the PUT body.");
    const counted = body.pipeThrough(byteLimit(grant.maxBytes));
    const head = await c.var.services.blobs.put(grant.key, counted, {
      contentType: grant.contentType ?? c.req.header("content-type"),
    });
    return c.body(null, 200, head.etag ? { etag: head.etag } : {});
  });

  app.get(`${BLOB_ROUTE_PREFIX}*`, async (c) => {
    const grant = verify(c.var.services, "GET", c.req.url);
    const head = await c.var.services.blobs.head(grant.key);
    if (!head) throw new ApiError("not_found", "The object behind this URL no longer exists.");
    const stream = await c.var.services.blobs.get(grant.key);
    return c.body(ReadableStream.from<Uint8Array>(stream), 200, {
      "content-type": head.contentType ?? "application/octet-stream",
      "content-length": String(head.size),
      ...(grant.contentDisposition ? { "content-disposition": grant.contentDisposition } : {}),
    });
  });
}

function verify(services: AppServices, method: "PUT" | "GET", url: string) {
  if (!services.localBlobUrls)
    throw new ApiError("not_found", "This deployment serves blobs from S3 directly.");
  return services.localBlobUrls.verify(method, new URL(url));
}

const tooLarge = (maxBytes: number) =>
  new ApiError("payload_too_large", `This upload URL accepts at most ${maxBytes} bytes.`, {
    fields: { limit_bytes: maxBytes },
  });

/** Passes bytes through, failing the stream once more than `maxBytes` have gone by. */
function byteLimit(maxBytes: number | undefined): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  return new TransformStream({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (maxBytes !== undefined && seen > maxBytes) {
        controller.error(tooLarge(maxBytes));
        return;
      }
      controller.enqueue(chunk);
    },
  });
}
