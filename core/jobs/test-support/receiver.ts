import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedWebhook {
  headers: Record<"webhook-id" | "webhook-timestamp" | "webhook-signature", string>;
  body: string;
  type: string;
}

/** How the receiver answers the n-th request (0-based): a status (with headers), or "hang" to never answer. */
export type Answer = { status: number; headers?: Record<string, string> } | "hang";

export interface Receiver {
  url: string;
  received: ReceivedWebhook[];
  close(): Promise<void>;
}

/** A webhook receiver on 127.0.0.1 that records every request and answers as scripted. */
export async function startReceiver(
  answer: (hook: ReceivedWebhook, n: number) => Answer = () => ({ status: 204 }),
): Promise<Receiver> {
  const received: ReceivedWebhook[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      const hook: ReceivedWebhook = {
        headers: {
          "webhook-id": String(req.headers["webhook-id"]),
          "webhook-timestamp": String(req.headers["webhook-timestamp"]),
          "webhook-signature": String(req.headers["webhook-signature"]),
        },
        body,
        type: (JSON.parse(body) as { type: string }).type,
      };
      const reply = answer(hook, received.length);
      received.push(hook);
      if (reply === "hang") return;
      res.writeHead(reply.status, reply.headers).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
