import { databaseUrl } from "./database";
import { network } from "./network";
import { secrets } from "./secrets";
import { bucket } from "./storage";
import { worker } from "./worker";

// The public API (functions/, the app of `mindeye api`) on Lambda behind a Function URL: 6 MB bodies, so
// large betas go by presigned PUT. It runs no jobs: it queues them in the database for the GPU workers.
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
    // Per lab, over every Lambda instance (the limiter's state is in the database).
    RATE_LIMIT_PER_SECOND: "20",
    RATE_LIMIT_BURST: "100",
  },
  nodejs: { install: ["onnxruntime-node", "usearch", "sharp", "@electric-sql/pglite"] },
  // The docs page's script (Scalar's bundle), served by /docs/scalar.js so /docs loads nothing from a CDN.
  // The name is LAMBDA_DOCS_SCRIPT in core/docs-script.ts (infra imports nothing of the runtime).
  copyFiles: [
    { from: "node_modules/@scalar/api-reference/dist/browser/standalone.js", to: "scalar-api-reference.js" },
  ],
});
