import { createRoute, z } from "@hono/zod-openapi";
import type { App } from "../env.ts";
import { problemResponses } from "../schemas/problem.ts";

const LabSchema = z
  .object({ id: z.string(), name: z.string(), key_id: z.string() })
  .openapi("Lab", { description: "The lab the calling API key belongs to" });

const route = createRoute({
  method: "get",
  path: "/v1/lab",
  tags: ["labs"],
  summary: "Who am I: the lab of the calling API key",
  security: [{ bearer: [] }],
  responses: {
    200: { description: "The caller's lab", content: { "application/json": { schema: LabSchema } } },
    ...problemResponses(401),
  },
});

export function registerGetLab(app: App): void {
  app.openapi(route, (c) => {
    const { id, name, keyId } = c.get("lab");
    return c.json({ id, name, key_id: keyId }, 200);
  });
}
