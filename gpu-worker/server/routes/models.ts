import type { Hono } from "hono";
import { ApiError } from "../../../core/contracts/errors.ts";
import { SHAPE_HEADER } from "../../../core/inference/worker-protocol.ts";
import type { ServedModels } from "../served-models.ts";

/** Model metadata (KServe v2 style): the list, one model, its readiness, and its voxel mask as raw uint8. */
export function registerModelRoutes(app: Hono, models: ServedModels): void {
  app.get("/v2/models", async (c) => c.json({ models: await models.get().listModels() }));
  app.get("/v2/models/:id", async (c) => c.json(await models.get().getModel(c.req.param("id"))));
  app.get("/v2/models/:id/ready", async (c) => {
    await models.get().getModel(c.req.param("id"));
    return c.json({ ready: true });
  });
  app.get("/v2/models/:id/mask", async (c) => {
    const id = c.req.param("id");
    const served = models.get();
    const [model, mask] = await Promise.all([served.getModel(id), served.getMask(id)]);
    if (!mask || !model.input.grid) {
      throw new ApiError("not_found", `Model ${id} takes pre-masked voxel vectors; it has no mask.`);
    }
    return c.body(new Uint8Array(mask), 200, {
      "content-type": "application/octet-stream",
      [SHAPE_HEADER]: model.input.grid.join(","),
    });
  });
}
