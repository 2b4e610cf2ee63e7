import type { Context, MiddlewareHandler } from "hono";
import { decodeBase64, encodeBase64 } from "hono/utils/encode";
import { requestFingerprint } from "../../core/jobs/idempotency.ts";
import type { AppEnv } from "../env.ts";
import { parseRequestJson } from "./json-text.ts";

/** Headers a replay sends again with the stored body. */
const REPLAYED_HEADERS = ["content-type", "location"];

/**
 * `Idempotency-Key` on every POST, as Stripe honours it: the first request with a key runs and its
 * response (2xx or 4xx) is stored; a repeat with the same body gets that response again with
 * `Idempotent-Replayed: true`, without running; another body under the key gets 422; a repeat while the
 * first still runs waits, then gets 409. A 5xx frees the key. Routes that create something store their
 * response in the creating transaction (`idempotent()`), so a creation and its record commit together.
 * The body is read here only when the header is present, up to the largest body a route takes. The app
 * registers this for POSTs alone, so other requests skip the layer.
 */
export function idempotencyKey(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const key = c.req.header("idempotency-key");
    if (key === undefined) return next();
    const { idempotency, limits } = c.var.services;
    const size = Number(c.req.header("content-length") ?? 0);
    // A larger body is refused by its route's limit; it is not read here.
    if (size > limits.syncBodyBytes) return next();
    const scope = { labId: c.var.lab.id, key, fingerprint: await fingerprintOf(c) };
    const begun = await idempotency.begin(scope);
    if ("replay" in begun) return replay(begun.replay);
    const held = { scope, token: begun.token, stored: false };
    c.set("idempotency", held);
    try {
      await next();
    } catch (error) {
      await idempotency.abandon(scope, held.token);
      throw error;
    }
    const headers = replayedHeaders(c.res.headers);
    if (held.stored) {
      await idempotency.storeHeaders(scope, held.token, headers);
    } else if (c.res.status < 500 && !isInUse(c.res)) {
      const body = await storableBody(c.res.clone(), headers);
      await idempotency.complete(c.var.services.db, scope, held.token, {
        status: c.res.status,
        body,
        headers,
      });
    } else {
      await idempotency.abandon(scope, held.token);
    }
  };
}

/** The validated-looking body: JSON with its keys sorted (so key order does not matter), or the bytes. */
async function fingerprintOf(c: Context<AppEnv>): Promise<string> {
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  // The route reads the body again (through its size limit): hand it the same bytes.
  const { method, headers, url, signal } = c.req.raw;
  c.req.raw = new Request(url, { method, headers, signal, body: bytes });
  let body: unknown = bytes;
  if (c.req.header("content-type")?.includes("json")) {
    try {
      body = parseRequestJson(new TextDecoder().decode(bytes));
    } catch {
      // Invalid JSON: its route refuses it; the bytes still tell two requests apart.
    }
  }
  return requestFingerprint(c.req.method, c.req.path, body);
}

const isInUse = (res: Response) => res.status === 409 && res.headers.get("retry-after") !== null;

function replayedHeaders(headers: Headers): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = headers.get(name);
    if (value !== null) kept[name] = value;
  }
  return kept;
}

/** JSON bodies as JSON; anything else (an .npy answer) as base64 of its bytes (Web APIs: no Buffer here). */
async function storableBody(res: Response, headers: Record<string, string>): Promise<unknown> {
  if (res.status === 204) return null;
  if ((headers["content-type"] ?? "").includes("json")) return res.json();
  return encodeBase64(await res.arrayBuffer());
}

function replay(stored: { status: number; body: unknown; headers?: Record<string, string> }): Response {
  const headers = new Headers(stored.headers ?? { "content-type": "application/json" });
  headers.set("idempotent-replayed", "true");
  const contentType = headers.get("content-type") ?? "";
  const body =
    stored.status === 204
      ? null
      : contentType.includes("json") || !stored.headers
        ? JSON.stringify(stored.body)
        : decodeBase64(stored.body as string);
  return new Response(body, { status: stored.status, headers });
}
