import { createRoute, z } from "@hono/zod-openapi";
import type { App } from "../env.ts";
import { EXAMPLE_JOB_ID, EXAMPLE_UPLOAD_ID } from "../schemas/examples.ts";
import { problemResponses } from "../schemas/problem.ts";

const AuditEvent = z
  .object({
    id: z.string().openapi({ description: "The event's id; newer events have larger ids" }),
    created_at: z.string().openapi({ description: "When the request was served (ISO 8601)" }),
    key_id: z.string().nullable().openapi({ description: "The API key used; null for a presigned URL" }),
    action: z
      .string()
      .openapi({ description: "What was done, as <resource>.<verb>", example: "upload.delete" }),
    resource_type: z.string().openapi({
      description: "What kind of resource: upload, job, webhook_secret, audit_events",
      example: "upload",
    }),
    resource_id: z
      .string()
      .nullable()
      .openapi({ description: "The resource's id; null for a list or a refused create" }),
    status: z.number().int().openapi({ description: "The HTTP status the access got" }),
    request_id: z.string().nullable().openapi({ description: "The request's x-request-id" }),
  })
  .openapi("AuditEvent", { description: "One read or change of the lab's data" });

const Query = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(50)
    .openapi({ description: "Events per page, 1 to 100" }),
  cursor: z
    .string()
    .max(20)
    .optional()
    .openapi({ description: "The next_cursor of the previous page; leave out for the newest events" }),
  resource_id: z.string().max(100).optional().openapi({ description: "Only events of this upload or job" }),
});

const route = createRoute({
  method: "get",
  path: "/v1/audit-events",
  tags: ["labs"],
  summary: "The lab's audit trail, newest first: every read or change of its data, by which key",
  description:
    "Every request to a route that reads or changes the lab's uploads, jobs or webhook secret, refused ones " +
    "included, with the key that made it and the status it got. Pages with limit and cursor; filter with resource_id.",
  request: { query: Query },
  responses: {
    200: {
      description: "A page of events; pass next_cursor as cursor for the next",
      content: {
        "application/json": {
          schema: z.object({
            data: z.array(AuditEvent).openapi({ description: "The events of this page, newest first" }),
            next_cursor: z
              .string()
              .nullable()
              .openapi({ description: "Pass as cursor for the next page; null on the last one" }),
          }),
          example: {
            data: [
              {
                id: "9",
                created_at: "2025-03-14T09:51:21.205Z",
                key_id: "key_aoq2swa5upd4iq6a",
                action: "upload.delete",
                resource_type: "upload",
                resource_id: EXAMPLE_UPLOAD_ID,
                status: 204,
                request_id: "req_r24zevhsmgkhdpld",
              },
              {
                id: "7",
                created_at: "2025-03-14T09:41:02.114Z",
                key_id: "key_aoq2swa5upd4iq6a",
                action: "embeddings.create",
                resource_type: "job",
                resource_id: EXAMPLE_JOB_ID,
                status: 202,
                request_id: "req_2zrewhwkcoc4i7wt",
              },
            ],
            next_cursor: "7",
          },
        },
      },
    },
    ...problemResponses(400, 401),
  },
});

export function registerListAuditEvents(app: App): void {
  app.openapi(route, async (c) => {
    const { limit, cursor, resource_id } = c.req.valid("query");
    const page = await c.var.services.audit.list(c.var.lab.id, { limit, cursor, resourceId: resource_id });
    return c.json(page, 200);
  });
}
