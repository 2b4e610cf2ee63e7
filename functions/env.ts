import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Lab } from "../core/auth/api-keys.ts";
import type { ApiError } from "../core/contracts/errors.ts";
import type { IdempotencyScope } from "../core/jobs/idempotency.ts";
import type { AppServices } from "./services.ts";

/** What middleware puts on the context for handlers. */
export interface AppEnv {
  Variables: {
    requestId: string;
    services: AppServices;
    /** Set by the auth middleware on /v1 routes. */
    lab: Lab & { keyId: string };
    /** Why the JSON body was refused as it was parsed (input-guard.ts); the validator hides the reason. */
    refusedBody?: ApiError;
    /** The Idempotency-Key this request holds (idempotency-key.ts); `stored` once its response is saved. */
    idempotency?: { scope: IdempotencyScope; token: string; stored: boolean };
  };
}

export type App = OpenAPIHono<AppEnv>;
