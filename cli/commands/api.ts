import { Command } from "commander";
import { loadConfig } from "../../core/config.ts";
import { installedDocsScript } from "../../core/docs-script.ts";
import { createApp } from "../../functions/app.ts";
import { buildServices, remoteInference } from "../../functions/build-services.ts";
import { listen, stopGracefully } from "../http-server.ts";
import { createLogger } from "../logger.ts";

/**
 * `mindeye api`: the HTTP API alone, the app the Lambda entry runs, reaching the models at WORKER_URL.
 * It runs no jobs: `mindeye worker` processes on the same database and blob store do.
 */
export function apiCommand(): Command {
  return new Command("api")
    .description("run the HTTP API alone (models at WORKER_URL; jobs run by `mindeye worker`)")
    .action(async () => {
      const config = loadConfig();
      const log = createLogger(config.LOG_LEVEL);
      const built = await buildServices(config, log, remoteInference(config), installedDocsScript());
      const server = await listen(createApp(built.services).fetch, config.HOST, config.PORT);
      log.info({ url: built.publicUrl, worker_url: config.WORKER_URL }, "api listening");
      stopGracefully(server, log, { afterClose: () => built.close() });
    });
}
