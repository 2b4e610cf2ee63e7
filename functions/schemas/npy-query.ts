import { z } from "@hono/zod-openapi";
import type { PreprocessingRequest } from "../../core/betas/index.ts";
import { closedObject } from "../../core/contracts/closed-object.ts";
import { ApiError } from "../../core/contracts/errors.ts";

/** Query parameters of POST /v1/embeddings: with an application/x-npy body they carry what JSON would. */
export const EmbeddingQuery = closedObject({
  model: z.string().optional().openapi({ description: "With an application/x-npy body" }),
  outputs: z
    .string()
    .optional()
    .openapi({ description: "With an application/x-npy body: backbone,retrieval" }),
  scale: z
    .string()
    .optional()
    .openapi({ description: "With an application/x-npy body: auto or a divisor, e.g. 300" }),
  zscore: z.string().optional().openapi({
    description: "With an application/x-npy body: none or session (reference statistics need JSON)",
  }),
  average: z.string().optional().openapi({
    description: "With an application/x-npy body: groups of row indices, ';' between groups: 0,1,2;3,4,5",
  }),
});

/** The preprocessing of an .npy body, from `?scale=&zscore=&average=`, checked as the JSON form is. */
export function preprocessingFromQuery(query: z.infer<typeof EmbeddingQuery>): PreprocessingRequest {
  const preprocessing: PreprocessingRequest = {};
  if (query.scale !== undefined) {
    const divisor = Number(query.scale);
    if (query.scale !== "auto" && !(Number.isFinite(divisor) && divisor > 0))
      refuse(`scale=${query.scale}: send scale=auto or a positive number, e.g. scale=300.`);
    preprocessing.scale = query.scale === "auto" ? "auto" : divisor;
  }
  if (query.zscore !== undefined) {
    if (query.zscore !== "none" && query.zscore !== "session")
      refuse(
        `zscore=${query.zscore}: send zscore=none or zscore=session; reference {mean, std} needs a JSON body.`,
      );
    preprocessing.zscore = query.zscore;
  }
  const { average } = query;
  if (average !== undefined) {
    preprocessing.average = average.split(";").map((group) =>
      group.split(",").map((index) => {
        const n = Number(index);
        if (index.trim() === "" || !Number.isInteger(n) || n < 0)
          refuse(`average=${average.slice(0, 64)}: groups are row indices like 0,1,2;3,4,5.`);
        return n;
      }),
    );
  }
  return preprocessing;
}

function refuse(detail: string): never {
  throw new ApiError("invalid_request", detail);
}
