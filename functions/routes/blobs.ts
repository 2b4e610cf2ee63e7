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
    const grant = await verify(c.var.services, "PUT", c.req.url);
    // Only an upload still waiting for its file takes bytes: a URL is dead once complete or deleted.
    const upload = await c.var.services.uploads.acceptingFile(grant.key);
    const declared = Number(c.req.header("content-length") ?? Number.NaN);
    if (grant.maxBytes !== undefined && declared > grant.maxBytes) {
      throw tooLarge(grant.maxBytes);
    }
    if (!Number.isNaN(declared) && declared !== upload.size) throw wrongSize(upload.size, declared);
    const body = c.req.raw.body;
    if (!body) throw new ApiError("invalid_request", "Send the file's bytes as the PUT body.");
    const counted = body.pipeThrough(byteLimit(grant.maxBytes));
    const head = await c.var.services.blobs.put(grant.key, counted, {
      contentType: grant.contentType ?? c.req.header("content-type"),
      size: upload.size,
    });
    await recordAccess(c.var.services, "blob.put", grant.key, c.get("requestId"));
    return c.body(null, 200, head.etag ? { etag: head.etag } : {});
  });

  app.get(`${BLOB_ROUTE_PREFIX}*`, async (c) => {
    const grant = await verify(c.var.services, "GET", c.req.url);
    const head = await c.var.services.blobs.head(grant.key);
    if (!head) throw new ApiError("not_found", "The object behind this URL no longer exists.");
    const stream = await c.var.services.blobs.get(grant.key);
    await recordAccess(c.var.services, "blob.get", grant.key, c.get("requestId"));
    return c.body(ReadableStream.from<Uint8Array>(stream), 200, {
      "content-type": head.contentType ?? "application/octet-stream",
      "content-length": String(head.size),
      ...(grant.contentDisposition ? { "content-disposition": grant.contentDisposition } : {}),
    });
  });
}

/**
 * Audits a presigned access: the lab is the key's second segment (`uploads/<lab>/…`, `outputs/<lab>/…`,
 * `jobs/<lab>/…`), and there is no API key, only the signature.
 */
async function recordAccess(services: AppServices, action: string, key: string, requestId?: string) {
  const labId = key.split("/")[1];
  if (!labId?.startsWith("lab_")) return; // not a lab's file (model bundles, indexes)
  await services.audit.record({
    labId,
    keyId: null,
    action,
    resourceType: "blob",
    resourceId: key,
    status: 200,
    requestId: requestId ?? null,
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

const wrongSize = (size: number, sent: number) =>
  new ApiError(
    "invalid_request",
    `This upload was declared as ${size} bytes; send exactly that many (Content-Length: ${sent}).`,
    { fields: { declared_size: size } },
  );

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
