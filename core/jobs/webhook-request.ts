import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import type { CheckedWebhookTarget } from "./webhook-url-guard.ts";

export interface WebhookResponse {
  statusCode: number | null;
  retryAfter: string | undefined;
  durationMs: number;
  error: string | null;
}

/**
 * POSTs one signed event to a checked target. The socket connects to the address the guard approved (a
 * `lookup` that returns it), while the Host header and TLS server name keep the URL's host name, so a DNS
 * answer that changes after the check cannot redirect the request. Redirects are not followed.
 */
export function postWebhook(
  target: CheckedWebhookTarget,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<WebhookResponse> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const transport = target.url.protocol === "https:" ? https : http;
  return new Promise((resolve) => {
    const request = transport.request(
      target.url,
      {
        method: "POST",
        lookup: pinned,
        headers: {
          ...headers,
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
          "user-agent": "mindeye-webhooks/1",
        },
        signal: AbortSignal.timeout(timeoutMs),
      },
      (response) => {
        // The body is not used; drain it so the socket is freed.
        response.resume();
        response.on("end", () =>
          resolve({
            statusCode: response.statusCode ?? null,
            retryAfter: response.headers["retry-after"],
            durationMs: elapsed(),
            error: null,
          }),
        );
        response.on("error", (error) =>
          resolve({
            statusCode: response.statusCode ?? null,
            retryAfter: undefined,
            durationMs: elapsed(),
            error: error.message,
          }),
        );
      },
    );
    request.on("error", (error) => {
      const timedOut = error.name === "AbortError" || error.name === "TimeoutError";
      resolve({
        statusCode: null,
        retryAfter: undefined,
        durationMs: elapsed(),
        error: timedOut ? `no response within ${timeoutMs} ms` : error.message,
      });
    });
    request.end(body);
  });
}
