import type { PreprocessingRequest } from "../betas/index.ts";
import type { JobContext, JobHandler } from "../jobs/job-worker.ts";
import { type BetasBody, betasSourceOf } from "./betas-source.ts";
import { planBetas } from "./plan-betas.ts";
import type { PrepareDeps } from "./prepare-betas.ts";
import {
  type InputReconstruction,
  json,
  type ReconstructProgress,
  reconstructBetas,
} from "./reconstruct-betas.ts";
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

/** A stored file of a job's outputs (core/jobs/README.md: handlers name their files' blob keys). */
interface StoredFile {
  key: string;
  content_type: string;
  bytes: number;
}

/** The latest preview in a job's progress detail; the API signs `key` into a URL and never shows it. */
export interface StoredPreview extends StoredFile {
  input: number;
  step: number;
  steps: number;
  width: number;
  height: number;
}

/**
 * The `reconstructions` job: runs where the models are (a Reconstructor), writing each input's PNGs and
 * scores under outputs/ as soon as it is done and saving the inputs done so far as the job's outputs;
 * outputs name files (`file`) and the API signs them. Previews go under outputs/.../previews/, outside
 * `files`: only the latest one is shown, in the progress detail.
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
      const prefix = `outputs/${lab_id}/${job.id}/`;
      const files: Record<string, StoredFile> = {};
      const write = async (name: string, bytes: Uint8Array, contentType: string) => {
        const key = prefix + name;
        await deps.blobs.put(key, bytes, { contentType, size: bytes.byteLength });
        files[name] = { key, content_type: contentType, bytes: bytes.byteLength };
      };
      const outputsOf = (reconstructions: InputReconstruction[]) => ({
        files: { ...files },
        reconstructions: reconstructions.map(({ clip_scores: _s, best_index: _b, ...entry }) => entry),
        model,
        settings,
      });
      const progress = new ProgressReporter(ctx);
      const { prepared, reconstructions } = await reconstructBetas(deps, plan, settings, {
        write,
        signal: ctx.signal,
        progress: (p) => progress.step(p),
        done: async (done) => {
          progress.inputsDone = done.length;
          await ctx.saveOutputs(outputsOf(done));
        },
        ...(settings.previews && {
          preview: async (input, png, { step, steps }) => {
            const key = `${prefix}previews/input-${input}-decoder-${String(step).padStart(3, "0")}.png`;
            await deps.blobs.put(key, png.bytes, { contentType: "image/png", size: png.bytes.byteLength });
            const { width, height } = png;
            const bytes = png.bytes.byteLength;
            await progress.preview({
              key,
              content_type: "image/png",
              bytes,
              input,
              step,
              steps,
              width,
              height,
            });
          },
        }),
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
        ...outputsOf(reconstructions),
        preprocessing: { ...prepared.applied, input_trials: prepared.inputTrials },
        warnings: prepared.warnings,
      };
    },
  };
}

/**
 * A reconstruction's progress detail: `{input, inputs, stage, step, steps, inputs_done, preview?}`, the
 * preview being the latest of the input running now. Written with the fraction and message.
 */
export function progressDetail(
  p: ReconstructProgress,
  inputsDone: number,
  preview: StoredPreview | null,
): Record<string, unknown> {
  const { input, inputs, stage, step, steps } = p;
  return {
    input,
    inputs,
    stage,
    step,
    steps,
    inputs_done: inputsDone,
    ...(preview && preview.input === input && { preview }),
  };
}

/**
 * Progress to the job record, which renews the lease and learns of a cancel (aborting ctx.signal, so the
 * pipeline stops before its next step). Steps come far faster than the database should take writes (on
 * PGlite each write also runs on this thread), so at most one is written per PROGRESS_WRITE_MS; a new
 * preview is written at once (and awaited: there are a few per input).
 */
const PROGRESS_WRITE_MS = 100;

class ProgressReporter {
  inputsDone = 0;
  private writing = false;
  private lastWrite = 0;
  private latest: ReconstructProgress | null = null;
  private latestPreview: StoredPreview | null = null;

  constructor(private readonly ctx: JobContext) {}

  step(p: ReconstructProgress): void {
    this.latest = p;
    if (this.writing || performance.now() - this.lastWrite < PROGRESS_WRITE_MS) return;
    this.writing = true;
    void this.write(p)
      .catch(() => {})
      .finally(() => {
        this.writing = false;
      });
  }

  async preview(preview: StoredPreview): Promise<void> {
    this.latestPreview = preview;
    if (this.latest) await this.write(this.latest);
  }

  private write(p: ReconstructProgress): Promise<void> {
    this.lastWrite = performance.now();
    const detail = progressDetail(p, this.inputsDone, this.latestPreview);
    return this.ctx.progress(p.fraction, progressMessage(p), detail);
  }
}
