import { ApiError } from "../../core/contracts/errors.ts";
import type { ModelServer } from "../runtime/model-server.ts";

/**
 * The worker's models as the routes see them: absent while bundles are still syncing and loading, and
 * again once shutdown has begun, so readiness drops before the process stops taking requests.
 */
export class ServedModels {
  private current: ModelServer | undefined;

  set(models: ModelServer | undefined): void {
    this.current = models;
  }

  peek(): ModelServer | undefined {
    return this.current;
  }

  /** The models, or 503 not_ready with Retry-After. */
  get(): ModelServer {
    if (!this.current) {
      throw new ApiError("not_ready", "The model server is loading its models (or shutting down).", {
        headers: { "retry-after": "5" },
      });
    }
    return this.current;
  }
}
