import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ApiError } from "../../core/contracts/errors.ts";
import { encodeTensor } from "../../core/contracts/tensor.ts";
import { betasSourceOf, inlineSource } from "../../core/inference/betas-source.ts";
import { embedBetas } from "../../core/inference/embed-betas.ts";
import type { EmbeddingOutput, Tensor } from "../../core/inference/inference.ts";
import { planBetas } from "../../core/inference/plan-betas.ts";
import { encodeNpy } from "../../core/npy/encode.ts";
import type { App, AppEnv } from "../env.ts";
import { asksForJob } from "../jobs/asks-for-job.ts";
import { jobCreatedResponses } from "../jobs/job-schemas.ts";
import { respondWithJob } from "../jobs/respond-with-job.ts";
import { limitBody } from "../middleware/body-limit.ts";
import { acceptContentTypes } from "../middleware/content-type.ts";
import { IdempotencyKeyHeaders } from "../middleware/idempotency.ts";
import { SIM01_TRIAL0_RETRIEVAL_BASE64 } from "../schemas/embedding-example.ts";
import { EmbeddingRequest, EmbeddingResponse } from "../schemas/embeddings.ts";
import { EXAMPLE_UPLOAD_ID, preprocessingAppliedExample } from "../schemas/examples.ts";
import { EmbeddingQuery, preprocessingFromQuery } from "../schemas/npy-query.ts";
import { problemResponses } from "../schemas/problem.ts";

const NPY = "application/x-npy";

const route = createRoute({
  method: "post",
  path: "/v1/embeddings",
  tags: ["embeddings"],
  summary: "Map betas into the model's CLIP space (backbone and/or retrieval embeddings)",
  description:
    "Send JSON, or an `application/x-npy` body of [trials, voxels] with `?model=` (and `?scale=`, `?zscore=`, " +
    "`?average=` for preprocessing). Ask for `.npy` back with `Accept: application/x-npy` (one output) or " +
    "`encoding`. With `Prefer: respond-async`, or more trials than a synchronous call takes, it runs as a job " +
    "(202) whose outputs are .npy files.",
  middleware: [
    acceptContentTypes({
      "application/json": "an EmbeddingRequest",
      [NPY]: "an .npy of [trials, voxels] with ?model=",
    }),
    limitBody(32 * 1024 ** 2, "Upload large sessions (POST /v1/uploads) and send their upload_id."),
  ] as const,
  request: {
    headers: IdempotencyKeyHeaders,
    query: EmbeddingQuery,
    body: {
      content: {
        "application/json": {
          schema: EmbeddingRequest,
          examples: {
            upload: {
              summary: "Trial 0 of an uploaded session, as base64",
              value: {
                model: "sim01",
                betas: { upload_id: EXAMPLE_UPLOAD_ID, trials: [0] },
                outputs: ["retrieval"],
                encoding: "base64",
              },
            },
            sessions: {
              summary: "A test image's three repeats, one per session, averaged",
              value: {
                model: "sim01",
                betas: {
                  sessions: [
                    { upload_id: "upl_gekccgismu3z457i", trials: [17] },
                    { upload_id: "upl_m4c2a7pq1xw8d5zb", trials: [203] },
                    { upload_id: "upl_3n6v7k2hq5tz4rye", trials: [388] },
                  ],
                },
                preprocessing: { average: [[0, 1, 2]] },
                outputs: ["backbone", "retrieval"],
              },
            },
          },
        },
        [NPY]: { schema: z.string().openapi({ format: "binary" }) },
      },
      // Not "required": zod-openapi then validates JSON only when the body is JSON, leaving .npy to us.
      required: false,
    },
  },
  responses: {
    200: {
      description: "The embeddings, with the preprocessing applied, warnings and timings",
      content: {
        "application/json": {
          schema: EmbeddingResponse,
          example: {
            model: "sim01",
            trials: 1,
            outputs: {
              retrieval: { base64: SIM01_TRIAL0_RETRIEVAL_BASE64, dtype: "float32", shape: [1, 17, 32] },
            },
            preprocessing: preprocessingAppliedExample,
            warnings: [],
            timing: { queue_ms: 1.85, run_ms: 9.48, batch_size: 1, total_ms: 363.33 },
          },
        },
        [NPY]: { schema: z.string().openapi({ format: "binary" }) },
      },
    },
    202: jobCreatedResponses("embeddings")[202],
    ...problemResponses(400, 401, 404, 409, 413, 415, 422, 503),
  },
});

type ParsedRequest = Omit<z.infer<typeof EmbeddingRequest>, "betas"> & {
  betas: z.infer<typeof EmbeddingRequest>["betas"];
  source: ReturnType<typeof betasSourceOf>;
  npy: boolean;
};

async function parseRequest(c: Context<AppEnv>): Promise<ParsedRequest> {
  const { limits } = c.var.services;
  const query = (c.req as unknown as { valid(target: "query"): z.infer<typeof EmbeddingQuery> }).valid(
    "query",
  );
  const npy = (c.req.header("content-type") ?? "").startsWith(NPY);
  if (npy) {
    const { model } = query;
    if (!model)
      throw new ApiError("invalid_request", "With an application/x-npy body, name the model: ?model=...");
    const outputs = (query.outputs ?? "retrieval").split(",") as EmbeddingOutput[];
    const bad = outputs.filter((o) => o !== "backbone" && o !== "retrieval");
    if (bad.length)
      throw new ApiError("invalid_request", `Unknown outputs ${bad.join(", ")}; choose backbone, retrieval.`);
    const preprocessing = preprocessingFromQuery(query);
    const tensor = await c.var.services.betasReader.decodeNpyBody(new Uint8Array(await c.req.arrayBuffer()), {
      maxDecodedBytes: limits.syncBodyBytes * 4,
    });
    // Kept as base64 in the request, so a job (Prefer: respond-async) carries the same betas.
    const betas = encodeTensor(tensor.data, tensor.shape, "base64");
    return { model, outputs, betas, preprocessing, source: inlineSource(tensor), npy };
  }
  const misplaced = Object.entries(query).filter(([, value]) => value !== undefined);
  if (misplaced.length)
    throw new ApiError(
      "invalid_request",
      `Query parameters (${misplaced.map(([name]) => name).join(", ")}) are for an application/x-npy body; ` +
        "with JSON, put model, outputs and preprocessing in the body.",
    );
  const body = (c.req as unknown as { valid(target: "json"): z.infer<typeof EmbeddingRequest> }).valid(
    "json",
  );
  if (!body.betas)
    throw new ApiError(
      "invalid_request",
      'Send a JSON body {"model", "betas", ...} or an application/x-npy body with ?model=.',
    );
  return { ...body, source: betasSourceOf(body.betas, limits.syncBodyBytes / 4), npy };
}

function chooseEncoding(c: Context<AppEnv>, requested: "json" | "base64" | "npy" | undefined) {
  if (requested) return requested;
  return (c.req.header("accept") ?? "").includes(NPY) ? "npy" : "json";
}

export function registerCreateEmbeddings(app: App): void {
  app.openapi(route, async (c) => {
    const started = performance.now();
    const request = await parseRequest(c);
    const { inference, uploads, blobs, limits, betasReader } = c.var.services;
    const deps = { inference, uploads, blobs, decodedMaxBytes: limits.decodedMaxBytes, betasReader };
    // Every check that needs no betas read happens here, so nothing wrong is queued.
    const plan = await planBetas(deps, c.var.lab.id, request.model, request.source, request.preprocessing);
    const large = plan.rows > limits.syncMaxTrials;
    if (large && request.npy) {
      throw new ApiError(
        "sync_limit_exceeded",
        `This body has ${plan.rows} trials; a synchronous call takes at most ${limits.syncMaxTrials}. Upload it and send {"betas": {"upload_id": ...}}: larger requests run as jobs.`,
      );
    }
    if (large || asksForJob(c, request)) {
      const { source: _source, encoding: _encoding, npy: _npy, webhook, ...rest } = request;
      return respondWithJob(c, { kind: "embeddings", inputs: { ...rest, lab_id: c.var.lab.id }, webhook });
    }
    const encoding = chooseEncoding(c, request.encoding);
    if (encoding === "npy" && request.outputs.length !== 1) {
      throw new ApiError(
        "invalid_request",
        "An .npy response carries one array: ask for one output, or use json/base64.",
      );
    }
    const {
      outputs,
      prepared,
      timing: modelTiming,
    } = await embedBetas(deps, plan, request.outputs, {
      maxTrials: limits.syncMaxTrials,
      signal: c.req.raw.signal,
    });
    const timing = { ...modelTiming, total_ms: performance.now() - started };
    c.header("x-batch-size", String(timing.batch_size));
    if (encoding === "npy") {
      const tensor = outputs[request.outputs[0]!]!;
      return c.body(encodeNpy(tensor.data, tensor.shape), 200, { "content-type": NPY });
    }
    return c.json(
      {
        model: request.model,
        trials: prepared.matrix.shape[0],
        outputs: Object.fromEntries(
          (Object.entries(outputs) as [string, Tensor][]).map(([name, t]) => [
            name,
            encodeTensor(t.data, t.shape, encoding),
          ]),
        ),
        preprocessing: { ...prepared.applied, input_trials: prepared.inputTrials },
        warnings: prepared.warnings,
        timing,
      },
      200,
    );
  });
}
