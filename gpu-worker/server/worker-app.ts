import { Hono } from "hono";
import { routePath } from "hono/route";
import type { Logger } from "pino";
import { ApiError } from "../../core/contracts/errors.ts";
import { requireWorkerToken } from "./require-worker-token.ts";
import { registerEmbedRoute } from "./routes/embed.ts";
import { registerHealthRoutes } from "./routes/health.ts";
import { registerMetricsRoute } from "./routes/metrics.ts";
import { registerModelRoutes } from "./routes/models.ts";
import type { ServedModels } from "./served-models.ts";
import type { WorkerMetrics } from "./worker-metrics.ts";
import { workerProblem } from "./worker-problem.ts";

export interface WorkerAppOptions {
  models: ServedModels;
  /** The bearer token the API presents: workerAuthToken(SIGNING_SECRET). */
  authToken: string;
  metrics: WorkerMetrics;
  log: Pick<Logger, "error">;
  /** Largest embed body accepted (bytes of float32 betas). */
  maxBodyBytes?: number;
}

/** Probes and scrapers reach these without the token; everything else is the API's alone. */
const OPEN_PATHS = new Set(["/v2/health/live", "/v2/health/ready", "/metrics"]);

/**
 * The GPU worker's internal HTTP API (docs/deployment.md, "Worker protocol"): KServe-v2-style health and
 * model metadata, binary embed, Prometheus metrics. Errors are problem+json with the API's error codes.
 */
export function createWorkerApp(options: WorkerAppOptions): Hono {
  const { models, metrics, log } = options;
  const app = new Hono();
  const auth = requireWorkerToken(options.authToken);

  app.use("*", async (c, next) => {
    const started = performance.now();
    await next();
    metrics.observeRequest(
      c.req.method,
      routePath(c, -1),
      c.res.status,
      (performance.now() - started) / 1000,
    );
  });
  app.use("*", (c, next) => (OPEN_PATHS.has(c.req.path) ? next() : auth(c, next)));
  app.onError((error, c) => workerProblem(c, error, log));
  app.notFound((c) =>
    workerProblem(
      c,
      new ApiError("not_found", `The model server has no route ${c.req.method} ${c.req.path}.`),
      log,
    ),
  );

  registerHealthRoutes(app, models);
  registerModelRoutes(app, models);
  registerEmbedRoute(app, models, metrics, options.maxBodyBytes ?? 256 * 1024 ** 2);
  registerMetricsRoute(app, metrics);
  return app;
}
