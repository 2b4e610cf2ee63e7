import { createRoute, z } from "@hono/zod-openapi";
import type { App } from "../env.ts";
import { problemResponses } from "../schemas/problem.ts";

const LabSchema = z
  .object({
    id: z.string().openapi({ description: "The lab's id (lab_...)" }),
    name: z.string().openapi({ description: "The lab's name, as given to `mindeye keys create --lab`" }),
    key_id: z.string().openapi({ description: "The id of the API key that made this request (key_...)" }),
  })
  .openapi("Lab", { description: "The lab the calling API key belongs to" });

const route = createRoute({
  method: "get",
  path: "/v1/lab",
  tags: ["labs"],
  summary: "Who am I: the lab of the calling API key",
  description:
    "Checks an API key and says whose it is. Every resource belongs to one lab: another lab's uploads and jobs " +
    "answer 404 to this key.",
  security: [{ bearer: [] }],
  responses: {
    200: {
      description: "The caller's lab",
      content: {
        "application/json": {
          schema: LabSchema,
          example: { id: "lab_jvmmgokrfbcmw5hu", name: "kay-lab", key_id: "key_aoq2swa5upd4iq6a" },
        },
      },
    },
    ...problemResponses(401),
  },
});

export function registerGetLab(app: App): void {
  app.openapi(route, (c) => {
    const { id, name, keyId } = c.get("lab");
    return c.json({ id, name, key_id: keyId }, 200);
  });
}
