import { databaseUrl } from "./database";
import { network } from "./network";
import { secrets } from "./secrets";
import { bucket } from "./storage";
import { worker } from "./worker";

// The public API (functions/) on Lambda behind a Function URL: 6 MB bodies, so large betas go by presigned PUT.
export const api = new sst.aws.Function("Api", {
  handler: "functions/lambda.lambdaHandler",
  runtime: "nodejs20.x",
  url: true,
  vpc: network,
  memory: "2048 MB",
  timeout: "30 seconds",
  link: [bucket],
  environment: {
    DATABASE_URL: databaseUrl,
    BLOB_STORE: $interpolate`s3://${bucket.name}/`,
    WORKER_URL: worker.url,
    VECTOR_STORE: "qdrant://",
    QDRANT_URL: secrets.qdrantUrl.value,
    QDRANT_API_KEY: secrets.qdrantApiKey.value,
    SIGNING_SECRET: secrets.signingSecret.value,
    METRICS_TOKEN: secrets.metricsToken.value,
    WEBHOOK_ALLOW_PRIVATE: "false",
    WEBHOOK_ALLOW_HTTP: "false",
  },
  nodejs: { install: ["onnxruntime-node", "usearch", "sharp", "@electric-sql/pglite"] },
});
