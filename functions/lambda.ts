import { handle } from "hono/aws-lambda";
import pino from "pino";
import { ConfigError, loadConfig } from "../core/config.ts";
import { HttpInferenceClient } from "../core/inference/http-client.ts";
import { createApp } from "./app.ts";
import { buildServices } from "./build-services.ts";

type LambdaHandler = ReturnType<typeof handle>;
let handler: LambdaHandler | undefined;

/**
 * AWS Lambda entry (API Gateway or a Function URL). The app is built on a container's first invocation
 * and reused while it stays warm; configuration comes from the environment that infra/ sets.
 */
export const lambdaHandler: LambdaHandler = async (event, context) => {
  if (!handler) {
    const config = loadConfig();
    if (!config.WORKER_URL || !config.SIGNING_SECRET) {
      throw new ConfigError("the Lambda API needs WORKER_URL and SIGNING_SECRET to reach the GPU workers");
    }
    const inference = new HttpInferenceClient({
      url: config.WORKER_URL,
      signingSecret: config.SIGNING_SECRET,
    });
    const { services } = await buildServices(config, pino({ level: config.LOG_LEVEL }), inference);
    handler = handle(createApp(services));
  }
  return handler(event, context);
};
