import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ApiError } from "../../core/contracts/errors.ts";
import { decodeNpyBody, encodeNpy, encodeTensor } from "../../core/contracts/tensor.ts";
import { betasSourceOf, inlineSource } from "../../core/inference/betas-source.ts";
import type { EmbeddingOutput, Tensor } from "../../core/inference/inference.ts";
import { prepareBetas } from "../../core/inference/prepare-betas.ts";
import type { App, AppEnv } from "../env.ts";
import { asksForJob } from "../jobs/asks-for-job.ts";
import { respondWithJob } from "../jobs/respond-with-job.ts";
import { limitBody } from "../middleware/body-limit.ts";
import { IdempotencyKeyHeaders } from "../middleware/idempotency.ts";
import { EmbeddingRequest, EmbeddingResponse } from "../schemas/embeddings.ts";
import { problemResponses } from "../schemas/problem.ts";

const NPY = "application/x-npy";

const route = createRoute({
  method: "post",
  path: "/v1/embeddings",
  tags: ["embeddings"],
  summary: "Map betas into the model's CLIP space (backbone and/or retrieval embeddings)",
  description:
    "Send JSON, or an `application/x-npy` body of [trials, voxels] with `?model=`. Ask for `.npy` back with " +
    "`Accept: application/x-npy` (one output) or `encoding`. With `Prefer: respond-async`, or more trials than a " +
    "synchronous call takes, it runs as a job (202) whose outputs are .npy files.",
  middleware: [
    limitBody(32 * 1024 ** 2, "Upload large sessions (POST /v1/uploads) and send their upload_id."),
  ] as const,
  request: {
    headers: IdempotencyKeyHeaders,
    query: z.object({
      model: z.string().optional().openapi({ description: "With an application/x-npy body" }),
      outputs: z
        .string()
        .optional()
        .openapi({ description: "With an application/x-npy body: backbone,retrieval" }),
    }),
    body: {
      content: {
        "application/json": { schema: EmbeddingRequest },
        [NPY]: { schema: z.string().openapi({ format: "binary" }) },
      },
      // Not "required": zod-openapi then validates JSON only when the body is JSON, leaving .npy to us.
      required: false,
    },
  },
  responses: {
    200: {
      description: "The embeddings, with the preprocessing applied and timings",
      content: {
        "application/json": { schema: EmbeddingResponse },
        [NPY]: { schema: z.string().openapi({ format: "binary" }) },
      },
    },
    ...problemResponses(400, 401, 404, 409, 413, 415, 422, 503),
  },
});

type ParsedRequest = z.infer<typeof EmbeddingRequest> & { source: ReturnType<typeof betasSourceOf> };

async function parseRequest(c: Context<AppEnv>): Promise<ParsedRequest> {
  const { limits } = c.var.services;
  if ((c.req.header("content-type") ?? "").startsWith(NPY)) {
    const model = c.req.query("model");
    if (!model)
      throw new ApiError("invalid_request", "With an application/x-npy body, name the model: ?model=...");
    const outputs = (c.req.query("outputs") ?? "retrieval").split(",") as EmbeddingOutput[];
    const bad = outputs.filter((o) => o !== "backbone" && o !== "retrieval");
    if (bad.length)
      throw new ApiError("invalid_request", `Unknown outputs ${bad.join(", ")}; choose backbone, retrieval.`);
    const tensor = await decodeNpyBody(new Uint8Array(await c.req.arrayBuffer()), {
      maxDecodedBytes: limits.syncBodyBytes * 4,
    });
    // Kept as base64 in the request, so a job (Prefer: respond-async) carries the same betas.
    const betas = encodeTensor(tensor.data, tensor.shape, "base64");
    return { model, outputs, betas, source: inlineSource(tensor) };
  }
  const body = (c.req as unknown as { valid(target: "json"): z.infer<typeof EmbeddingRequest> }).valid(
    "json",
  );
  return { ...body, source: betasSourceOf(body.betas, limits.syncBodyBytes / 4) };
}

/**
 * Async when asked (`Prefer: respond-async` or a `webhook`) or when there are more trials than a
 * synchronous call takes.
 */
async function shouldRunAsync(c: Context<AppEnv>, request: ParsedRequest): Promise<boolean> {
  if (asksForJob(c, request)) return true;
  const { source } = request;
  const trials =
    source.kind === "inline"
      ? source.matrix.shape[0]
      : (source.trials?.length ??
        (await c.var.services.uploads.getReady(c.var.lab.id, source.uploadId)).summary.trials);
  const large = trials > c.var.services.limits.syncMaxTrials;
  if (large && (c.req.header("content-type") ?? "").startsWith(NPY)) {
    throw new ApiError(
      "sync_limit_exceeded",
      `This body has ${trials} trials; a synchronous call takes at most ${c.var.services.limits.syncMaxTrials}. Upload it and send {"betas": {"upload_id": ...}}: larger requests run as jobs.`,
    );
  }
  return large;
}

function chooseEncoding(c: Context<AppEnv>, requested: "json" | "base64" | "npy" | undefined) {
  if (requested) return requested;
  return (c.req.header("accept") ?? "").includes(NPY) ? "npy" : "json";
}

export function registerCreateEmbeddings(app: App): void {
  app.openapi(route, async (c) => {
    const started = performance.now();
    const request = await parseRequest(c);
    const { inference, uploads, blobs, limits } = c.var.services;
    if (await shouldRunAsync(c, request)) {
      const { source: _source, encoding: _encoding, webhook, ...rest } = request;
      return respondWithJob(c, { kind: "embeddings", inputs: { ...rest, lab_id: c.var.lab.id }, webhook });
    }
    const encoding = chooseEncoding(c, request.encoding);
    if (encoding === "npy" && request.outputs.length !== 1) {
      throw new ApiError(
        "invalid_request",
        "An .npy response carries one array: ask for one output, or use json/base64.",
      );
    }
    const prepared = await prepareBetas(
      { inference, uploads, blobs, decodedMaxBytes: limits.decodedMaxBytes },
      c.var.lab.id,
      request.model,
      request.source,
      request.preprocessing,
      { maxTrials: limits.syncMaxTrials },
    );
    const result = await inference.embed(request.model, prepared.matrix, request.outputs, c.req.raw.signal);
    const timing = { ...result.timing, total_ms: performance.now() - started };
    c.header("x-batch-size", String(timing.batch_size));
    if (encoding === "npy") {
      const tensor = result.outputs[request.outputs[0]!]!;
      return c.body(encodeNpy(tensor.data, tensor.shape), 200, { "content-type": NPY });
    }
    const outputs = Object.fromEntries(
      (Object.entries(result.outputs) as [string, Tensor][]).map(([name, t]) => [
        name,
        encodeTensor(t.data, t.shape, encoding),
      ]),
    );
    return c.json(
      {
        model: request.model,
        trials: prepared.matrix.shape[0],
        outputs,
        preprocessing: { ...prepared.applied, input_trials: prepared.inputTrials },
        timing,
      },
      200,
    );
  });
}
