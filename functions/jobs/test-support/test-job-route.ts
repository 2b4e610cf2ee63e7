import { createRoute, z } from "@hono/zod-openapi";
import { webhookSubscriptionInputSchema } from "../../../core/contracts/jobs.ts";
import type { App } from "../../env.ts";
import { IDEMPOTENCY_PROBLEM_STATUSES, IdempotencyKeyHeaders } from "../../middleware/idempotency.ts";
import { problemResponses } from "../../schemas/problem.ts";
import { jobCreatedResponses } from "../job-schemas.ts";
import { respondWithJob } from "../respond-with-job.ts";

/** The kind of job the test route creates unless the body names one; tests run them with handlers of their own. */
export const TEST_JOB_KIND = "test.job";
export const TEST_JOB_PATH = "/v1/test-jobs";

const route = createRoute({
  method: "post",
  path: TEST_JOB_PATH,
  request: {
    headers: IdempotencyKeyHeaders,
    body: {
      content: {
        "application/json": {
          schema: z.object({
            kind: z.string().default(TEST_JOB_KIND),
            inputs: z.unknown(),
            webhook: webhookSubscriptionInputSchema.optional(),
          }),
        },
      },
      required: true,
    },
  },
  responses: {
    ...jobCreatedResponses("embeddings"),
    ...problemResponses(400, 401, 422, ...IDEMPOTENCY_PROBLEM_STATUSES),
  },
});

/**
 * A job-creating route as the public ones will be (there is no public job kind yet). Register it on a
 * harness's app before its first request: Hono builds its router then.
 */
export function registerTestJobRoute(app: App): void {
  app.openapi(route, (c) => {
    const { kind, inputs, webhook } = c.req.valid("json");
    return respondWithJob(c, { kind, inputs: inputs ?? null, webhook });
  });
}
