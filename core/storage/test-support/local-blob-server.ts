import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ApiError } from "../../contracts/errors.ts";
import { LocalBlobStore } from "../local-blob-store.ts";
import { verifyLocalPresignedUrl } from "../local-presigned-url.ts";

/**
 * A stand-in for the API's /v1/blobs route (functions/routes/blobs.ts), so the store's presigned URLs
 * can be exercised over real HTTP without the app: it verifies the URL, enforces its size limit and
 * hands the body to the store, as the route does.
 */
export async function startLocalBlobServer(
  root: string,
  signingSecret: string,
): Promise<{ store: LocalBlobStore; close(): Promise<void> }> {
  let store: LocalBlobStore | undefined;
  const server = createServer((req, res) => {
    serve(req, res, signingSecret, store!).catch((error: unknown) => {
      const status = error instanceof ApiError ? error.status : 500;
      const code = error instanceof ApiError ? error.code : "internal_error";
      if (!res.headersSent) res.writeHead(status, { "content-type": "application/problem+json" });
      res.end(JSON.stringify({ status, code, detail: (error as Error).message }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  store = new LocalBlobStore({ root, publicBaseUrl: `http://127.0.0.1:${port}`, signingSecret });
  return {
    store,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, secret: string, store: LocalBlobStore) {
  const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
  if (req.method === "PUT") {
    const grant = await verifyLocalPresignedUrl(secret, "PUT", url);
    const limit = grant.maxBytes ?? Number.POSITIVE_INFINITY;
    if (Number(req.headers["content-length"] ?? 0) > limit) throw tooLarge();
    const limited = byteLimit(limit);
    pipeline(req, limited).catch(() => {});
    const head = await store.put(grant.key, limited, {
      contentType: grant.contentType ?? req.headers["content-type"],
    });
    res.writeHead(200, head.etag ? { etag: head.etag } : {});
    res.end();
    return;
  }
  const grant = await verifyLocalPresignedUrl(secret, "GET", url);
  const head = await store.head(grant.key);
  if (!head) throw new ApiError("not_found", `There is no blob ${grant.key}.`);
  const body = await store.get(grant.key);
  res.writeHead(200, {
    "content-type": head.contentType ?? "application/octet-stream",
    "content-length": String(head.size),
    ...(grant.contentDisposition ? { "content-disposition": grant.contentDisposition } : {}),
  });
  await pipeline(body, res);
}

const tooLarge = () => new ApiError("payload_too_large", "The body is larger than this URL allows.");

function byteLimit(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.byteLength;
      callback(seen > maxBytes ? tooLarge() : null, chunk);
    },
  });
}
