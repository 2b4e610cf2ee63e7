import type { Hono } from "hono";
import { ApiError } from "../../../core/contracts/errors.ts";
import type { ServedModels } from "../served-models.ts";

/** KServe v2 health: live while the process serves HTTP; ready once every bundle is loaded and warm. */
export function registerHealthRoutes(app: Hono, models: ServedModels): void {
  app.get("/v2/health/live", (c) => c.json({ live: true }));
  app.get("/v2/health/ready", async (c) => {
    try {
      await models.get().ready();
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ApiError("not_ready", `The model server is not ready: ${(error as Error).message}.`, {
        headers: { "retry-after": "5" },
      });
    }
    return c.json({ ready: true });
  });
}
