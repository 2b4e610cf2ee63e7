import type { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ApiError } from "../../../core/contracts/errors.ts";
import type { EmbeddingOutput, Tensor } from "../../../core/inference/inference.ts";
import {
  encodeTensorFrame,
  OUTPUTS_HEADER,
  parseShape,
  SHAPE_HEADER,
  TENSOR_FRAME_TYPE,
  TIMING_HEADERS,
} from "../../../core/inference/worker-protocol.ts";
import type { ServedModels } from "../served-models.ts";
import type { WorkerMetrics } from "../worker-metrics.ts";

const OUTPUT_NAMES: readonly EmbeddingOutput[] = ["backbone", "retrieval"];

function parseOutputs(header: string | undefined): EmbeddingOutput[] {
  if (!header) return [...OUTPUT_NAMES];
  const names = header.split(",").map((n) => n.trim());
  const unknown = names.filter((n) => !OUTPUT_NAMES.includes(n as EmbeddingOutput));
  if (unknown.length > 0 || names.length === 0) {
    throw new ApiError(
      "invalid_request",
      `${OUTPUTS_HEADER} names unknown outputs (${unknown.join(", ")}); it takes ${OUTPUT_NAMES.join(", ")}.`,
    );
  }
  return [...new Set(names)] as EmbeddingOutput[];
}

const tooLarge = (maxBytes: number) =>
  new ApiError("payload_too_large", `The model server takes at most ${maxBytes} bytes of betas per request.`);

/**
 * `POST /v2/models/{id}/embed`: the body is the betas as raw little-endian float32 (shape in
 * x-tensor-shape), the answer a tensor frame of the requested outputs with the batcher's timings in
 * headers. The request's AbortSignal (aborted by @hono/node-server when the client disconnects) goes to
 * the batcher, so an abandoned request leaves its queue before it runs.
 */
export function registerEmbedRoute(
  app: Hono,
  models: ServedModels,
  metrics: WorkerMetrics,
  maxBodyBytes: number,
): void {
  const limit = bodyLimit({
    maxSize: maxBodyBytes,
    onError: () => {
      throw tooLarge(maxBodyBytes);
    },
  });
  app.post("/v2/models/:id/embed", limit, async (c) => {
    const id = c.req.param("id");
    const served = models.get();
    await served.getModel(id);
    const shape = parseShape(c.req.header(SHAPE_HEADER));
    if (shape?.length !== 2) {
      throw new ApiError(
        "invalid_request",
        `${SHAPE_HEADER} must be "trials,voxels" (two positive integers); got ${JSON.stringify(c.req.header(SHAPE_HEADER) ?? null)}.`,
      );
    }
    const outputs = parseOutputs(c.req.header(OUTPUTS_HEADER));
    const expectedBytes = shape[0]! * shape[1]! * 4;
    if (expectedBytes > maxBodyBytes) throw tooLarge(maxBodyBytes);
    const body = await c.req.arrayBuffer();
    if (body.byteLength !== expectedBytes) {
      throw new ApiError(
        "invalid_request",
        `A [${shape.join(", ")}] float32 body is ${expectedBytes} bytes; this one is ${body.byteLength}.`,
      );
    }
    const result = await served.embed(id, { data: new Float32Array(body), shape }, outputs, c.req.raw.signal);
    metrics.observeEmbed(id, result.timing);
    return c.body(encodeTensorFrame(result.outputs as Record<string, Tensor>), 200, {
      "content-type": TENSOR_FRAME_TYPE,
      [TIMING_HEADERS.queue_ms]: result.timing.queue_ms.toFixed(3),
      [TIMING_HEADERS.run_ms]: result.timing.run_ms.toFixed(3),
      [TIMING_HEADERS.batch_size]: String(result.timing.batch_size),
    });
  });
}
