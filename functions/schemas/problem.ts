import { z } from "@hono/zod-openapi";
import { ERROR_CODES, type ErrorCode } from "../../core/contracts/errors.ts";

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
    request_id: z.string().optional(),
  })
  .catchall(z.unknown())
  .openapi("Problem");

/** OpenAPI response entries for the problems a route can answer with, keyed by status. */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: Object.values(ERROR_CODES)
          .filter((e) => e.status === status)
          .map((e) => e.title)
          .join("; "),
        content: { "application/problem+json": { schema: ProblemSchema } },
      },
    ]),
  );
}
