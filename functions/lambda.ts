import { handle } from "hono/aws-lambda";
import pino from "pino";
import { loadConfig } from "../core/config.ts";
import { lambdaDocsScript } from "../core/docs-script.ts";
import { createApp } from "./app.ts";
import { buildServices, remoteInference } from "./build-services.ts";

type LambdaHandler = ReturnType<typeof handle>;
let handler: LambdaHandler | undefined;

/**
 * AWS Lambda entry (API Gateway or a Function URL): the app of `mindeye api`, no jobs run here. It is built
 * on a container's first invocation and reused while it stays warm; configuration comes from infra/.
 */
export const lambdaHandler: LambdaHandler = async (event, context) => {
  if (!handler) {
    const config = loadConfig();
    const { services } = await buildServices(
      config,
      pino({ level: config.LOG_LEVEL }),
      remoteInference(config),
      // Lambda sets LAMBDA_TASK_ROOT to the function package's folder.
      lambdaDocsScript(process.env.LAMBDA_TASK_ROOT ?? "."),
    );
    handler = handle(createApp(services));
  }
  return handler(event, context);
};
