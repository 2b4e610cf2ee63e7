import { type ServerType, serve } from "@hono/node-server";
import type { Logger } from "pino";

type Server = ServerType & { closeAllConnections?: () => void };

/** Listens on host:port; resolves once bound, rejects if the port cannot be taken. */
export function listen(
  fetch: Parameters<typeof serve>[0]["fetch"],
  hostname: string,
  port: number,
): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, () => resolve(server));
    server.once("error", reject);
  });
}

/**
 * On SIGTERM or SIGINT: `beforeClose` (e.g. drop readiness), stop accepting connections, let in-flight
 * requests finish (a stuck client is cut after 10 s), then `afterClose` (release models, close the database).
 */
export function stopGracefully(
  server: Server,
  log: Pick<Logger, "info">,
  hooks: { beforeClose?: () => void; afterClose: () => Promise<void> },
): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    hooks.beforeClose?.();
    log.info({ signal }, "shutting down: finishing in-flight requests");
    const forced = setTimeout(() => server.closeAllConnections?.(), 10_000);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    clearTimeout(forced);
    await hooks.afterClose();
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}
