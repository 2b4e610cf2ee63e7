import { Command } from "commander";
import { loadConfig } from "../../core/config.ts";
import { createApp } from "../../functions/app.ts";
import { startEmbedded } from "../embedded.ts";
import { listen, stopGracefully } from "../http-server.ts";

/** `mindeye serve`: the all-in-one process (API, inference, job workers, webhook dispatcher). */
export function serveCommand(): Command {
  return new Command("serve")
    .description("run the API with everything in this process, on the embedded defaults unless configured")
    .option("--port <port>", "port to listen on (default: $PORT or 8787)")
    .option("--host <host>", "address to listen on (default: $HOST or 127.0.0.1)")
    .option("--data-dir <dir>", "embedded data folder (default: $MINDEYE_DATA_DIR or ./.mindeye)")
    .action(async (flags: { port?: string; host?: string; dataDir?: string }) => {
      // Flags win over the environment, and go through the same checks.
      const config = loadConfig({
        ...process.env,
        ...(flags.port !== undefined ? { PORT: flags.port } : {}),
        ...(flags.host !== undefined ? { HOST: flags.host } : {}),
        ...(flags.dataDir !== undefined ? { MINDEYE_DATA_DIR: flags.dataDir } : {}),
      });
      const embedded = await startEmbedded(config);
      const { services } = embedded;
      const app = createApp(services);
      const server = await listen(app.fetch, config.HOST, config.PORT);
      services.log.info({ url: embedded.publicUrl, data_dir: config.dataDir }, "listening");

      stopGracefully(server, services.log, { afterClose: () => embedded.close() });
    });
}
