import { ApiError } from "../contracts/errors.ts";
import { readFailedResponse } from "../contracts/problem-response.ts";
import type {
  EmbeddingOutput,
  EmbedTiming,
  InferenceService,
  ModelDescription,
  Tensor,
} from "./inference.ts";
import {
  decodeTensorFrame,
  OUTPUTS_HEADER,
  SHAPE_HEADER,
  TENSOR_BODY_TYPE,
  TIMING_HEADERS,
  workerAuthToken,
} from "./worker-protocol.ts";

export interface HttpInferenceClientOptions {
  /** WORKER_URL, e.g. `http://worker.mindeye.internal:8788`. */
  url: string;
  /** The SIGNING_SECRET the worker was started with; the bearer token is derived from it. */
  signingSecret: string;
  /** Longest an embed may take, queueing included (default 60 s). */
  embedTimeoutMs?: number;
  /** Longest a metadata or health call may take (default 10 s). */
  metadataTimeoutMs?: number;
  /** How long model descriptions are reused before they are asked for again (default 60 s). */
  cacheTtlMs?: number;
}

/**
 * The InferenceService over the worker's HTTP API (docs/deployment.md, "Worker protocol"): binary
 * tensor bodies, a timeout per call, the worker's problems raised again as the same ApiError (code,
 * status, Retry-After), and model descriptions and masks cached, as they change only when the worker
 * is redeployed with other bundles.
 */
export class HttpInferenceClient implements InferenceService {
  readonly #base: string;
  readonly #token: Promise<string>;
  readonly #embedTimeoutMs: number;
  readonly #metadataTimeoutMs: number;
  readonly #cacheTtlMs: number;
  #models: { until: number; list: Promise<ModelDescription[]> } | undefined;
  readonly #masks = new Map<string, { version: string; mask: Promise<Uint8Array | null> }>();

  constructor(options: HttpInferenceClientOptions) {
    this.#base = options.url.replace(/\/+$/, "");
    this.#token = workerAuthToken(options.signingSecret);
    this.#embedTimeoutMs = options.embedTimeoutMs ?? 60_000;
    this.#metadataTimeoutMs = options.metadataTimeoutMs ?? 10_000;
    this.#cacheTtlMs = options.cacheTtlMs ?? 60_000;
  }

  async listModels(): Promise<ModelDescription[]> {
    if (!this.#models || this.#models.until < Date.now()) {
      const list = this.#json<{ models: ModelDescription[] }>("/v2/models").then((r) => r.models);
      this.#models = { until: Date.now() + this.#cacheTtlMs, list };
      // A failed call is not cached: the next caller asks again.
      list.catch(() => {
        if (this.#models?.list === list) this.#models = undefined;
      });
    }
    return this.#models.list;
  }

  async getModel(id: string): Promise<ModelDescription> {
    const cached = (await this.listModels()).find((m) => m.id === id);
    // Not in the cached list: ask the worker, which knows models loaded since, or answers model_not_found.
    return cached ?? this.#json<ModelDescription>(`/v2/models/${encodeURIComponent(id)}`);
  }

  async getMask(id: string): Promise<Uint8Array | null> {
    const model = await this.getModel(id);
    const version = JSON.stringify(model.hashes);
    const cached = this.#masks.get(id);
    if (cached?.version === version) return cached.mask;
    const mask = this.#fetchMask(id);
    this.#masks.set(id, { version, mask });
    mask.catch(() => this.#masks.delete(id));
    return mask;
  }

  async #fetchMask(id: string): Promise<Uint8Array | null> {
    const response = await this.#call(
      `/v2/models/${encodeURIComponent(id)}/mask`,
      {},
      this.#metadataTimeoutMs,
    );
    if (response.status === 404) {
      const error = await this.#problem(response);
      // not_found here means "this model has no mask"; model_not_found is a real error.
      if (error.code === "not_found") return null;
      throw error;
    }
    if (!response.ok) throw await this.#problem(response);
    return new Uint8Array(await response.arrayBuffer());
  }

  async embed(model: string, betas: Tensor, outputs: EmbeddingOutput[], signal?: AbortSignal) {
    const { data } = betas;
    const response = await this.#call(
      `/v2/models/${encodeURIComponent(model)}/embed`,
      {
        method: "POST",
        body: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        headers: {
          "content-type": TENSOR_BODY_TYPE,
          [SHAPE_HEADER]: betas.shape.join(","),
          [OUTPUTS_HEADER]: outputs.join(","),
        },
      },
      this.#embedTimeoutMs,
      signal,
    );
    if (!response.ok) throw await this.#problem(response);
    let tensors: Record<string, Tensor>;
    try {
      tensors = decodeTensorFrame(await response.arrayBuffer());
    } catch (error) {
      throw this.#unavailable(`sent an unreadable embed response (${(error as Error).message})`, error);
    }
    const result: Partial<Record<EmbeddingOutput, Tensor>> = {};
    for (const name of outputs) {
      const tensor = tensors[name];
      if (!tensor) throw this.#unavailable(`left output ${name} out of its embed response`);
      result[name] = tensor;
    }
    return { outputs: result, timing: timingOf(response.headers) };
  }

  async ready(): Promise<void> {
    const response = await this.#call("/v2/health/ready", {}, this.#metadataTimeoutMs);
    if (!response.ok) throw await this.#problem(response);
  }

  async #json<T>(path: string): Promise<T> {
    const response = await this.#call(path, {}, this.#metadataTimeoutMs);
    if (!response.ok) throw await this.#problem(response);
    return (await response.json()) as T;
  }

  /** One request with the token and a deadline; network failures and timeouts become upstream_unavailable. */
  async #call(path: string, init: RequestInit, timeoutMs: number, signal?: AbortSignal): Promise<Response> {
    const deadline = AbortSignal.timeout(timeoutMs);
    const headers = {
      ...(init.headers as Record<string, string>),
      authorization: `Bearer ${await this.#token}`,
    };
    try {
      return await fetch(`${this.#base}${path}`, {
        ...init,
        headers,
        signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
      });
    } catch (error) {
      // The caller's own abort is not the worker's fault: it propagates as it came.
      if (signal?.aborted) throw signal.reason;
      if (deadline.aborted) throw this.#unavailable(`did not answer within ${timeoutMs} ms`, error);
      const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
      throw this.#unavailable(
        `could not be reached (${cause?.code ?? cause?.message ?? String(error)})`,
        error,
      );
    }
  }

  /** The worker's problem+json raised again as the ApiError the worker threw (Retry-After passed on). */
  async #problem(response: Response): Promise<ApiError> {
    const failed = await readFailedResponse(response);
    if (!failed.error) return this.#unavailable(`answered ${failed.status} ${failed.text}`);
    // A refused token means this API and the worker disagree on SIGNING_SECRET: our fault, not the caller's.
    if (failed.error.code === "unauthorized") return this.#unavailable("refused this API's credentials");
    return failed.error;
  }

  #unavailable(what: string, cause?: unknown): ApiError {
    // The worker's address stays out of the detail, which reaches API callers; the cause is logged.
    return new ApiError("upstream_unavailable", `The model server ${what}.`, { cause });
  }
}

function timingOf(headers: Headers): EmbedTiming {
  return {
    queue_ms: Number(headers.get(TIMING_HEADERS.queue_ms) ?? 0),
    run_ms: Number(headers.get(TIMING_HEADERS.run_ms) ?? 0),
    batch_size: Number(headers.get(TIMING_HEADERS.batch_size) ?? 0),
  };
}
