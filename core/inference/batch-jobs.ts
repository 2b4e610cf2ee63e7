import type { PreprocessingRequest } from "../betas/index.ts";
import type { JobHandler } from "../jobs/job-worker.ts";
import { encodeNpy } from "../npy/index.ts";
import type { PayloadFilter, VectorStore } from "../search/vector-index.ts";
import { type CompleteUploadRequest, completeUpload } from "../uploads/complete-upload.ts";
import { type BetasBody, betasSourceOf } from "./betas-source.ts";
import { embedBetas } from "./embed-betas.ts";
import type { EmbeddingOutput } from "./inference.ts";
import { planBetas } from "./plan-betas.ts";
import type { PrepareDeps } from "./prepare-betas.ts";
import { retrieve } from "./retrieve.ts";

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
  rerank?: { model: string; index: string; key: string; candidates: number };
}

// A job's betas were bounded by the request body that queued them; this only guards the decoder.
const JOB_MAX_INLINE_VALUES = 1 << 28;

/**
 * The async versions of /v1/embeddings and /v1/retrievals (the same use cases as the routes, with progress
 * and cancel between chunks), writing results to the blob store as .npy / JSON under outputs/; and of
 * /v1/uploads/{id}/complete, whose reading of a large session can outlast an HTTP request.
 */
export function batchJobHandlers(deps: PrepareDeps & { vectors: VectorStore }): Record<string, JobHandler> {
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

  const progressOf = (ctx: Parameters<JobHandler>[1]) => (done: number, total: number) =>
    ctx.progress(done / total, `${done} of ${total} trials embedded`);

  return {
    embeddings: async (job, ctx) => {
      const inputs = job.inputs as BatchJobInputs;
      const outputs = inputs.outputs ?? ["retrieval"];
      const plan = await planBetas(
        deps,
        inputs.lab_id,
        inputs.model,
        betasSourceOf(inputs.betas, JOB_MAX_INLINE_VALUES),
        inputs.preprocessing,
      );
      const embedded = await embedBetas(deps, plan, outputs, {
        signal: ctx.signal,
        progress: progressOf(ctx),
      });
      const files: Record<string, unknown> = {};
      for (const name of outputs) {
        const t = embedded.outputs[name]!;
        files[name] = await writeFile(
          inputs.lab_id,
          job.id,
          `${name}.npy`,
          encodeNpy(t.data, t.shape),
          "application/x-npy",
        );
      }
      const { prepared } = embedded;
      return {
        files,
        trials: prepared.matrix.shape[0],
        preprocessing: { ...prepared.applied, input_trials: prepared.inputTrials },
        warnings: prepared.warnings,
      };
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
      const inputs = job.inputs as BatchJobInputs;
      const index = inputs.index!;
      const retrieved = await retrieve(
        deps,
        inputs.lab_id,
        {
          index,
          k: inputs.k ?? 10,
          filter: inputs.filter as PayloadFilter | undefined,
          query: {
            kind: "betas",
            model: inputs.model,
            betas: betasSourceOf(inputs.betas, JOB_MAX_INLINE_VALUES),
            preprocessing: inputs.preprocessing,
          },
          rerank: inputs.rerank,
        },
        { signal: ctx.signal, progress: progressOf(ctx) },
      );
      const body = new TextEncoder().encode(
        JSON.stringify({ index, model: inputs.model, results: retrieved.results }),
      );
      const file = await writeFile(inputs.lab_id, job.id, "results.json", body, "application/json");
      return {
        files: { results: file },
        trials: retrieved.results.length,
        preprocessing: retrieved.preprocessing,
        warnings: retrieved.warnings,
      };
    },
  };
}
