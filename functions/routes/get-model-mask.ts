import { createRoute, z } from "@hono/zod-openapi";
import { ApiError } from "../../core/contracts/errors.ts";
import { encodeNpy } from "../../core/npy/encode.ts";
import type { App } from "../env.ts";
import { ModelIdParam } from "../schemas/models.ts";
import { problemResponses } from "../schemas/problem.ts";

const route = createRoute({
  method: "get",
  path: "/v1/models/{id}/mask",
  tags: ["models"],
  summary: "The model's voxel mask over its grid, as .npy (uint8, 1 = voxel used; numpy C order)",
  description:
    "Mask a volume with it to get a trial's voxels in the model's order: `volume[mask.astype(bool)]` in numpy " +
    "(C order over x, y, z); MATLAB's column-major order would scramble them. 404 for a model without a grid.",
  request: { params: ModelIdParam },
  responses: {
    200: {
      description: "The mask",
      content: { "application/x-npy": { schema: z.string().openapi({ format: "binary" }) } },
    },
    ...problemResponses(401, 404),
  },
});

export function registerGetModelMask(app: App): void {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const { inference } = c.var.services;
    const [model, mask] = await Promise.all([inference.getModel(id), inference.getMask(id)]);
    if (!mask || !model.input.grid) {
      throw new ApiError("not_found", `Model ${id} takes pre-masked voxel vectors; it has no mask.`);
    }
    const bytes = encodeNpy(mask, model.input.grid);
    return c.body(bytes, 200, {
      "content-type": "application/x-npy",
      "content-disposition": `attachment; filename="${id}-mask.npy"`,
    });
  });
}
