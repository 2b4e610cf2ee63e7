import { z } from "@hono/zod-openapi";
import { ERROR_CODES, type ErrorCode } from "../../core/contracts/errors.ts";
import { problemExample } from "./problem-examples.ts";

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ description: "urn:mindeye:problem:<code>, one per code" }),
    title: z.string().openapi({ description: "The code's fixed, human-readable summary" }),
    status: z.number().int().openapi({ description: "The HTTP status, repeated in the body" }),
    detail: z.string().openapi({ description: "What was wrong with this request and what to send instead" }),
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]).openapi({
      description: "The stable error code to branch on (one closed list; see docs/api.md)",
    }),
    request_id: z
      .string()
      .optional()
      .openapi({ description: "This request's id, also in the x-request-id header; quote it in a report" }),
  })
  .catchall(z.unknown())
  .openapi("Problem", {
    description:
      "An RFC 9457 problem (application/problem+json); some add members that say more, e.g. `expected_voxels`, `errors`, `limit_bytes`",
  });

/** OpenAPI response entries for the problems a route can answer with, keyed by status. */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => {
      const codes = (Object.keys(ERROR_CODES) as ErrorCode[]).filter(
        (code) => ERROR_CODES[code].status === status,
      );
      return [
        status,
        {
          description: codes.map((code) => ERROR_CODES[code].title).join("; "),
          content: {
            "application/problem+json": {
              schema: ProblemSchema,
              examples: Object.fromEntries(
                codes.map((code) => [
                  code,
                  { summary: ERROR_CODES[code].title, value: problemExample(code) },
                ]),
              ),
            },
          },
        },
      ];
    }),
  );
}
