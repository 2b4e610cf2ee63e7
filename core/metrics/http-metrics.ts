import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

/** Prometheus metrics of one app instance: requests, latencies and errors per route, plus process gauges. */
export class HttpMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests by method, route pattern and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: "http_request_errors_total",
    help: "HTTP responses with status >= 400 by route pattern and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request latency by method and route pattern",
    labelNames: ["method", "route"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  /** Registries of components running in this process (the in-process model server's batchers). */
  private readonly included: Registry[] = [];

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * The labelled series of each method, route and status seen, so a request costs a map lookup rather
   * than prom-client hashing its label objects (sorted keys joined) three times. The keys are no more
   * than the label sets prom-client keeps anyway.
   */
  private readonly series = new Map<
    string,
    { requests: { inc(): void }; errors: { inc(): void } | null; latency: { observe(v: number): void } }
  >();

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`;
    let series = this.series.get(key);
    if (!series) {
      const labels = { method, route, status: String(status) };
      series = {
        requests: this.requests.labels(labels),
        errors: status >= 400 ? this.errors.labels(labels) : null,
        latency: this.latency.labels({ method, route }),
      };
      this.series.set(key, series);
    }
    series.requests.inc();
    series.errors?.inc();
    series.latency.observe(seconds);
  }

  include(registry: Registry): void {
    this.included.push(registry);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    const parts = await Promise.all([this.registry, ...this.included].map((r) => r.metrics()));
    return { contentType: this.registry.contentType, body: parts.join("\n") };
  }
}
