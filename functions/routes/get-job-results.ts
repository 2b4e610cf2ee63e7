import { createRoute } from "@hono/zod-openapi";
import { ApiError } from "../../core/contracts/errors.ts";
import type { InputWarning } from "../../core/inference/input-warnings.ts";
import type { SearchHit } from "../../core/search/vector-index.ts";
import type { App } from "../env.ts";
import { JobIdParam } from "../jobs/job-schemas.ts";
import { presentSearchHits } from "../presenters/search-hits.ts";
import { problemResponses } from "../schemas/problem.ts";
import { RetrievalResponse } from "../schemas/retrievals.ts";

const route = createRoute({
  method: "get",
  path: "/v1/jobs/{id}/results",
  tags: ["jobs"],
  summary: "A finished retrievals job's results, as the synchronous POST /v1/retrievals answers them",
  description:
    "The hits of `outputs.files.results` with each index image as a fresh signed URL (`payload.image`, valid " +
    "until `payload.image_expires_at`); the stored file keeps only the images' keys, since URLs expire.",
  request: { params: JobIdParam },
  responses: {
    200: { description: "The results", content: { "application/json": { schema: RetrievalResponse } } },
    ...problemResponses(401, 404, 409),
  },
});

interface RetrievalJobOutputs {
  files: { results: { key: string } };
  preprocessing: Record<string, unknown> | null;
  warnings: InputWarning[];
}

export function registerGetJobResults(app: App): void {
  app.openapi(route, async (c) => {
    const { jobs, blobs } = c.var.services;
    const job = await jobs.getWithoutInputs(c.var.lab.id, c.req.valid("param").id);
    if (job.kind !== "retrievals") {
      throw new ApiError(
        "conflict",
        `Job ${job.id} is a ${job.kind} job; only retrievals jobs have results here. Its outputs are at GET /v1/jobs/${job.id}.`,
      );
    }
    if (job.status !== "succeeded") {
      throw new ApiError(
        "conflict",
        `Job ${job.id} is ${job.status}; its results exist once it has succeeded (follow GET /v1/jobs/${job.id}).`,
        { fields: { status: job.status } },
      );
    }
    const outputs = job.outputs as RetrievalJobOutputs;
    const stored = await blobs.get(outputs.files.results.key);
    const file = (await new Response(ReadableStream.from<Uint8Array>(stored)).json()) as {
      index: string;
      model: string | null;
      results: SearchHit[][];
    };
    return c.json(
      {
        index: file.index,
        model: file.model,
        results: await presentSearchHits(file.results, blobs),
        preprocessing: outputs.preprocessing,
        warnings: outputs.warnings,
      },
      200,
    );
  });
}
