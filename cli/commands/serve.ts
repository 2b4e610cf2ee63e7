import { type ServerType, serve } from "@hono/node-server";
import { Command } from "commander";
import { loadConfig } from "../../core/config.ts";
import { createApp } from "../../functions/app.ts";
import { startEmbedded } from "../embedded.ts";

/** `mindeye serve`: the all-in-one process (API, inference, job workers, webhook dispatcher). */
export function serveCommand(): Command {
  return new Command("serve")
    .description("run the API with everything in this process, on the embedded defaults unless configured")
    .action(async () => {
      const config = loadConfig();
      const embedded = await startEmbedded(config);
      const { services } = embedded;
      const app = createApp(services);
      const server = await listen(app.fetch, config.HOST, config.PORT);
      services.log.info({ url: embedded.publicUrl, data_dir: config.dataDir }, "listening");

      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        services.log.info({ signal }, "shutting down: finishing in-flight requests");
        // A stuck client must not hold the process forever; the database is still closed cleanly.
        const forced = setTimeout(() => server.closeAllConnections?.(), 10_000);
        await new Promise<void>((resolve) => server.close(() => resolve()));
        clearTimeout(forced);
        await embedded.close();
        services.log.info("stopped");
        process.exit(0);
      };
      process.on("SIGTERM", () => void stop("SIGTERM"));
      process.on("SIGINT", () => void stop("SIGINT"));
    });
}

function listen(
  fetch: Parameters<typeof serve>[0]["fetch"],
  hostname: string,
  port: number,
): Promise<ServerType & { closeAllConnections?: () => void }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, () => resolve(server));
    server.once("error", reject);
  });
}
