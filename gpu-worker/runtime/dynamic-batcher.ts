import { ApiError } from "../../core/contracts/errors.ts";

export interface BatcherOptions {
  /** Most rows (trials) one model call may take. */
  maxBatchRows: number;
  /** How long the first queued request may wait for others to join its batch. */
  maxDelayMs: number;
  /** Requests waiting beyond this many are refused with 503 and Retry-After. */
  maxQueue: number;
}

export interface BatchStats {
  batches: number;
  rows: number;
  largestBatch: number;
  queued: number;
}

/** Named outputs of a model call, each row-major with one row per input row. */
export type BatchOutputs = Record<string, Float32Array>;

export interface BatchedResult {
  outputs: BatchOutputs;
  batchRows: number;
  queueMs: number;
  runMs: number;
}

interface Pending {
  rows: Float32Array;
  count: number;
  enqueuedAt: number;
  resolve: (value: BatchedResult) => void;
  reject: (error: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * Coalesces concurrent requests for one model into batches (Triton-style): a batch runs when it is full
 * or when its oldest request has waited `maxDelayMs`. One batch runs at a time per batcher, so the model
 * sees a steady stream of large calls; a request aborted while queued leaves without running.
 */
export class DynamicBatcher {
  private readonly queue: Pending[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  readonly stats: BatchStats = { batches: 0, rows: 0, largestBatch: 0, queued: 0 };

  get maxBatchRows(): number {
    return this.options.maxBatchRows;
  }

  constructor(
    private readonly width: number,
    private readonly runBatch: (rows: Float32Array, count: number) => Promise<BatchOutputs>,
    private readonly options: BatcherOptions,
  ) {}

  /** Queues `count` rows of `width` values; resolves with this request's slice of the batch's results. */
  async submit(rows: Float32Array, count: number, signal?: AbortSignal): Promise<BatchedResult> {
    if (rows.length !== count * this.width) {
      throw new Error(`batcher expects ${count} x ${this.width} values, got ${rows.length}`);
    }
    if (this.queue.length >= this.options.maxQueue) {
      throw new ApiError(
        "overloaded",
        "The model's queue is full. Retry after a second, or send fewer requests at once.",
        {
          headers: { "retry-after": "1" },
        },
      );
    }
    signal?.throwIfAborted();
    // A request larger than maxBatchRows runs alone as one oversized batch rather than being split.
    return new Promise((resolve, reject) => {
      const pending: Pending = { rows, count, enqueuedAt: performance.now(), resolve, reject, signal };
      if (signal) {
        pending.onAbort = () => {
          const at = this.queue.indexOf(pending);
          if (at >= 0) {
            this.queue.splice(at, 1);
            this.stats.queued = this.queue.length;
            reject(signal.reason);
          }
        };
        signal.addEventListener("abort", pending.onAbort, { once: true });
      }
      this.queue.push(pending);
      this.stats.queued = this.queue.length;
      this.schedule();
    });
  }

  private queuedRows(): number {
    return this.queue.reduce((sum, p) => sum + p.count, 0);
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.queuedRows() >= this.options.maxBatchRows || this.options.maxDelayMs === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      void this.runNext();
      return;
    }
    if (this.timer) return;
    const oldest = this.queue[0]!.enqueuedAt;
    const wait = Math.max(0, this.options.maxDelayMs - (performance.now() - oldest));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runNext();
    }, wait);
  }

  private async runNext(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const batch: Pending[] = [];
    let rows = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (batch.length > 0 && rows + next.count > this.options.maxBatchRows) break;
      this.queue.shift();
      if (next.signal && next.onAbort) next.signal.removeEventListener("abort", next.onAbort);
      batch.push(next);
      rows += next.count;
    }
    this.stats.queued = this.queue.length;
    const input = new Float32Array(rows * this.width);
    let offset = 0;
    for (const p of batch) {
      input.set(p.rows, offset);
      offset += p.rows.length;
    }
    const started = performance.now();
    try {
      const results = await this.runBatch(input, rows);
      const runMs = performance.now() - started;
      this.stats.batches++;
      this.stats.rows += rows;
      this.stats.largestBatch = Math.max(this.stats.largestBatch, rows);
      let at = 0;
      for (const p of batch) {
        const outputs: BatchOutputs = {};
        for (const [name, values] of Object.entries(results)) {
          const width = values.length / rows;
          outputs[name] = values.slice(at * width, (at + p.count) * width);
        }
        at += p.count;
        p.resolve({ outputs, batchRows: rows, queueMs: started - p.enqueuedAt, runMs });
      }
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      this.running = false;
      this.schedule();
    }
  }
}
