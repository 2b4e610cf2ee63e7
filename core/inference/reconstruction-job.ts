import type { PreprocessingRequest } from "../betas/index.ts";
import type { JobContext, JobHandler } from "../jobs/job-worker.ts";
import { type BetasBody, betasSourceOf } from "./betas-source.ts";
import { planBetas } from "./plan-betas.ts";
import type { PrepareDeps } from "./prepare-betas.ts";
import { json, type ReconstructProgress, reconstructBetas } from "./reconstruct-betas.ts";
import { assertCanReconstruct, type ReconstructionSettings, type Reconstructor } from "./reconstructor.ts";

/** Inputs of a `reconstructions` job as the API stores them: the request with its defaults filled in. */
export interface ReconstructionJobInputs extends ReconstructionSettings {
  lab_id: string;
  model: string;
  betas: BetasBody;
  preprocessing?: PreprocessingRequest;
}

// A job's betas were bounded by the request body that queued them; this only guards the decoder.
const JOB_MAX_INLINE_VALUES = 1 << 28;

/** The progress message of a step, e.g. `input 0 (of 2) prior 37/100`: input index, stage, step. */
export function progressMessage(p: ReconstructProgress): string {
  return `input ${p.input} (of ${p.inputs}) ${p.stage} ${p.step}/${p.steps}`;
}

/**
 * The `reconstructions` job: runs where the models are (a Reconstructor), writing each input's PNGs and
 * scores under outputs/ as soon as it is done; outputs name them (`file`) and the API signs them.
 */
export function reconstructionJobHandlers(
  deps: PrepareDeps & { reconstructor: Reconstructor },
): Record<string, JobHandler> {
  return {
    reconstructions: async (job, ctx) => {
      const { lab_id, model, betas, preprocessing, ...settings } = job.inputs as ReconstructionJobInputs;
      const plan = await planBetas(
        deps,
        lab_id,
        model,
        betasSourceOf(betas, JOB_MAX_INLINE_VALUES),
        preprocessing,
      );
      assertCanReconstruct(plan.model);
      const files: Record<string, { key: string; content_type: string; bytes: number }> = {};
      const write = async (name: string, bytes: Uint8Array, contentType: string) => {
        const key = `outputs/${lab_id}/${job.id}/${name}`;
        await deps.blobs.put(key, bytes, { contentType, size: bytes.byteLength });
        files[name] = { key, content_type: contentType, bytes: bytes.byteLength };
      };
      const { prepared, reconstructions } = await reconstructBetas(deps, plan, settings, {
        write,
        signal: ctx.signal,
        progress: reportProgress(ctx),
      });
      await write(
        "scores.json",
        json(
          reconstructions.map((r) => ({
            input: r.input,
            seed: r.seed,
            best: r.best_index,
            clip_scores: r.clip_scores,
          })),
        ),
        "application/json",
      );
      return {
        files,
        reconstructions: reconstructions.map(({ clip_scores: _s, best_index: _b, ...entry }) => entry),
        model,
        settings,
        preprocessing: { ...prepared.applied, input_trials: prepared.inputTrials },
        warnings: prepared.warnings,
      };
    },
  };
}

/**
 * Progress to the job record, which renews the lease and learns of a cancel (aborting ctx.signal, so the
 * pipeline stops before its next step). Steps come far faster than the database should take writes (on
 * PGlite each write also runs on this thread), so at most one is written per PROGRESS_WRITE_MS.
 */
const PROGRESS_WRITE_MS = 100;

function reportProgress(ctx: JobContext): (p: ReconstructProgress) => void {
  let writing = false;
  let lastWrite = 0;
  return (p) => {
    if (writing || performance.now() - lastWrite < PROGRESS_WRITE_MS) return;
    writing = true;
    lastWrite = performance.now();
    void ctx
      .progress(p.fraction, progressMessage(p))
      .catch(() => {})
      .finally(() => {
        writing = false;
      });
  };
}
