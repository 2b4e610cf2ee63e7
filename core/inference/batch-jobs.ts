import type { PreprocessingRequest } from "../betas/index.ts";
import { ApiError } from "../contracts/errors.ts";
import { encodeNpy } from "../contracts/tensor.ts";
import type { JobHandler } from "../jobs/job-worker.ts";
import type { PayloadFilter, VectorStore } from "../search/vector-index.ts";
import { withIndex } from "../search/with-index.ts";
import { type CompleteUploadRequest, completeUpload } from "../uploads/complete-upload.ts";
import { type BetasBody, betasSourceOf } from "./betas-source.ts";
import type { EmbeddingOutput } from "./inference.ts";
import { type PrepareDeps, prepareBetas } from "./prepare-betas.ts";

/** Inputs of an `embeddings` or `retrievals` job, as the API stores them (lab_id is the server's, not the lab's). */
export interface BatchJobInputs {
  lab_id: string;
  model: string;
  betas: BetasBody;
  preprocessing?: PreprocessingRequest;
  outputs?: EmbeddingOutput[];
  index?: string;
  k?: number;
  filter?: Record<string, unknown>;
}

// Rows per model call: small enough to report progress and notice a cancel often.
const CHUNK_ROWS = 64;

/**
 * The async versions of /v1/embeddings and /v1/retrievals, for whole uploads: embed in chunks (progress,
 * cancel between chunks), then write the results to the blob store as .npy / JSON under outputs/; and of
 * /v1/uploads/{id}/complete, whose reading of a large session can outlast an HTTP request.
 */
export function batchJobHandlers(deps: PrepareDeps & { vectors: VectorStore }): Record<string, JobHandler> {
  async function embedAll(
    job: { id: string; inputs: unknown },
    ctx: Parameters<JobHandler>[1],
    outputs: EmbeddingOutput[],
  ) {
    const inputs = job.inputs as BatchJobInputs;
    const prepared = await prepareBetas(
      deps,
      inputs.lab_id,
      inputs.model,
      betasSourceOf(inputs.betas, 1 << 28),
      inputs.preprocessing,
    );
    const [trials, voxels] = prepared.matrix.shape;
    const parts: Record<string, Float32Array[]> = {};
    const shapes: Record<string, number[]> = {};
    for (let start = 0; start < trials; start += CHUNK_ROWS) {
      ctx.signal.throwIfAborted();
      const count = Math.min(CHUNK_ROWS, trials - start);
      const rows = prepared.matrix.data.subarray(start * voxels, (start + count) * voxels);
      const result = await deps.inference.embed(
        inputs.model,
        { data: rows, shape: [count, voxels] },
        outputs,
        ctx.signal,
      );
      for (const name of outputs) {
        parts[name] = [...(parts[name] ?? []), result.outputs[name]!.data];
        shapes[name] = [trials, ...result.outputs[name]!.shape.slice(1)];
      }
      await ctx.progress((start + count) / trials, `${start + count} of ${trials} trials embedded`);
    }
    const joined = Object.fromEntries(
      outputs.map((name) => {
        const all = new Float32Array(parts[name]!.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts[name]!) {
          all.set(p, at);
          at += p.length;
        }
        return [name, { data: all, shape: shapes[name]! }];
      }),
    );
    return { inputs, prepared, joined };
  }

  async function writeFile(
    labId: string,
    jobId: string,
    name: string,
    bytes: Uint8Array,
    contentType: string,
  ) {
    const key = `outputs/${labId}/${jobId}/${name}`;
    await deps.blobs.put(key, bytes, { contentType, size: bytes.byteLength });
    return { key, content_type: contentType, bytes: bytes.byteLength };
  }

  return {
    embeddings: async (job, ctx) => {
      const outputs = (job.inputs as BatchJobInputs).outputs ?? ["retrieval"];
      const { inputs, prepared, joined } = await embedAll(job, ctx, outputs);
      const files: Record<string, unknown> = {};
      for (const name of outputs) {
        const t = joined[name]!;
        files[name] = await writeFile(
          inputs.lab_id,
          job.id,
          `${name}.npy`,
          encodeNpy(t.data, t.shape),
          "application/x-npy",
        );
      }
      return { files, trials: prepared.matrix.shape[0], preprocessing: prepared.applied };
    },

    // The whole summary is small JSON, so it is the job's output as it is.
    inspect_upload: async (job) => {
      const { lab_id, upload_id, ...request } = job.inputs as CompleteUploadRequest & {
        lab_id: string;
        upload_id: string;
      };
      const upload = await completeUpload(deps, lab_id, upload_id, request);
      return { upload_id, ...upload.summary };
    },

    retrievals: async (job, ctx) => {
      const inputsOfJob = job.inputs as BatchJobInputs;
      if (!inputsOfJob.index) throw new ApiError("invalid_request", "A retrievals job needs an index.");
      const { inputs, prepared, joined } = await embedAll(job, ctx, ["retrieval"]);
      const t = joined.retrieval!;
      const trials = t.shape[0]!;
      const width = t.data.length / trials;
      const queries = Array.from({ length: trials }, (_, i) => t.data.subarray(i * width, (i + 1) * width));
      const results = await withIndex(deps.vectors, inputsOfJob.index, (index) =>
        index.queryBatch(queries, { k: inputs.k ?? 10, filter: inputs.filter as PayloadFilter | undefined }),
      );
      const body = new TextEncoder().encode(
        JSON.stringify({ index: inputsOfJob.index, model: inputs.model, results }),
      );
      const file = await writeFile(inputs.lab_id, job.id, "results.json", body, "application/json");
      return { files: { results: file }, trials, preprocessing: prepared.applied };
    },
  };
}
