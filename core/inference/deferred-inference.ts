import { ApiError } from "../contracts/errors.ts";
import type { EmbeddingOutput, InferenceService, ModelDescription, Tensor } from "./inference.ts";

/**
 * An InferenceService whose models are still loading: the server can listen (and answer /healthz) at
 * once, while requests that need a model get 503 not_ready with Retry-After until loading finishes.
 */
export class DeferredInference implements InferenceService {
  #service: InferenceService | undefined;
  #failure: Error | undefined;

  constructor(loading: Promise<InferenceService>) {
    loading.then(
      (service) => {
        this.#service = service;
      },
      (error: Error) => {
        this.#failure = error;
      },
    );
  }

  #loaded(): InferenceService {
    if (this.#service) return this.#service;
    if (this.#failure) {
      throw new ApiError("not_ready", `The models failed to load: ${this.#failure.message}`, {
        cause: this.#failure,
      });
    }
    throw new ApiError("not_ready", "The models are still loading. Retry in a few seconds.", {
      headers: { "retry-after": "5" },
    });
  }

  async listModels(): Promise<ModelDescription[]> {
    return this.#loaded().listModels();
  }

  async getModel(id: string): Promise<ModelDescription> {
    return this.#loaded().getModel(id);
  }

  async getMask(id: string): Promise<Uint8Array | null> {
    return this.#loaded().getMask(id);
  }

  async embed(model: string, betas: Tensor, outputs: EmbeddingOutput[], signal?: AbortSignal) {
    return this.#loaded().embed(model, betas, outputs, signal);
  }

  async ready(): Promise<void> {
    await this.#loaded().ready();
  }
}
