import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { EmbedTiming } from "../../core/inference/inference.ts";
import type { ModelServer } from "../runtime/model-server.ts";

type BatchStatsByModel = ReturnType<ModelServer["batchStats"]>;

/**
 * Prometheus metrics of the worker. Per-request figures (latency, the batch each embed ran in, its queue
 * wait) are observed as requests finish; the batchers' own counters and queue depths are read at scrape
 * time from `stats()`, so they are exact even for batches no HTTP request is waiting on (warm-up).
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly latency = new Histogram({
    name: "mindeye_worker_request_duration_seconds",
    help: "Worker HTTP request latency by method, route pattern and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly batchSize = new Histogram({
    name: "mindeye_worker_embed_batch_size",
    help: "Rows of the model call each embed request ran in (above its own rows when batched with others)",
    labelNames: ["model"] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [this.registry],
  });
  private readonly queueWait = new Histogram({
    name: "mindeye_worker_embed_queue_seconds",
    help: "Time embed requests waited in the batcher's queue",
    labelNames: ["model"] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  constructor(stats: () => BatchStatsByModel | undefined, options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    new Gauge({
      name: "mindeye_worker_queue_depth",
      help: "Requests waiting in each model's batcher queue",
      labelNames: ["model"] as const,
      registers,
      collect() {
        this.reset();
        for (const [model, s] of Object.entries(stats() ?? {})) this.set({ model }, s.queued);
      },
    });
    new Gauge({
      name: "mindeye_worker_model_info",
      help: "1 for each loaded model, labelled with the execution provider it really runs on",
      labelNames: ["model", "provider"] as const,
      registers,
      collect() {
        this.reset();
        for (const [model, s] of Object.entries(stats() ?? {})) this.set({ model, provider: s.provider }, 1);
      },
    });
    // The batchers count for themselves; these mirror their totals at scrape time.
    new Counter({
      name: "mindeye_worker_batches_total",
      help: "Model calls run by each model's batcher",
      labelNames: ["model"] as const,
      registers,
      collect() {
        this.reset();
        for (const [model, s] of Object.entries(stats() ?? {})) this.inc({ model }, s.batches);
      },
    });
    new Counter({
      name: "mindeye_worker_batch_rows_total",
      help: "Rows (trials) run by each model's batcher",
      labelNames: ["model"] as const,
      registers,
      collect() {
        this.reset();
        for (const [model, s] of Object.entries(stats() ?? {})) this.inc({ model }, s.rows);
      },
    });
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.latency.observe({ method, route, status: String(status) }, seconds);
  }

  observeEmbed(model: string, timing: EmbedTiming): void {
    this.batchSize.observe({ model }, timing.batch_size);
    this.queueWait.observe({ model }, timing.queue_ms / 1000);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
