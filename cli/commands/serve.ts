import { Command } from "commander";
import { loadConfig } from "../../core/config.ts";
import { createApp } from "../../functions/app.ts";
import { startEmbedded } from "../embedded.ts";
import { listen, stopGracefully } from "../http-server.ts";

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

      stopGracefully(server, services.log, { afterClose: () => embedded.close() });
    });
}
