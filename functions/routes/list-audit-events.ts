import { createRoute, z } from "@hono/zod-openapi";
import type { App } from "../env.ts";
import { problemResponses } from "../schemas/problem.ts";

const AuditEvent = z
  .object({
    id: z.string(),
    created_at: z.string(),
    key_id: z.string().nullable().openapi({ description: "The API key used; null for a presigned URL" }),
    action: z.string().openapi({ example: "upload.delete" }),
    resource_type: z.string().openapi({ example: "upload" }),
    resource_id: z.string().nullable(),
    status: z.number().int().openapi({ description: "The HTTP status the access got" }),
    request_id: z.string().nullable(),
  })
  .openapi("AuditEvent");

const Query = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(20).optional(),
  resource_id: z.string().max(100).optional().openapi({ description: "Only events of this upload or job" }),
});

const route = createRoute({
  method: "get",
  path: "/v1/audit-events",
  tags: ["labs"],
  summary: "The lab's audit trail, newest first: every read or change of its data, by which key",
  request: { query: Query },
  responses: {
    200: {
      description: "A page of events; pass next_cursor as cursor for the next",
      content: {
        "application/json": {
          schema: z.object({ data: z.array(AuditEvent), next_cursor: z.string().nullable() }),
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
