import type { BetasPlan } from "./plan-betas.ts";
import { type EncodedPng, encodePng } from "./png.ts";
import { type PrepareDeps, type PreparedBetas, preparePlanned } from "./prepare-betas.ts";
import type {
  ReconstructionSettings,
  ReconstructionStage,
  ReconstructionStep,
  Reconstructor,
} from "./reconstructor.ts";

/** A written file, named as the job's `outputs.files` names it. */
export type WriteFile = (name: string, bytes: Uint8Array, contentType: string) => Promise<void>;

/** One input's result; images are named files of `outputs.files` (the API turns them into signed URLs). */
export interface InputReconstruction {
  input: number;
  best?: { file: string; width: number; height: number; clip_score: number };
  candidates?: { file: string; clip_score: number }[];
  blurry?: { file: string };
  /** Every candidate's score and which one won, also without the candidates' images. */
  clip_scores: number[];
  best_index: number;
  seed: number;
}

/** Previews are shrunk to this side at most: enough to see the picture form, a few KB each. */
export const PREVIEW_MAX_SIDE = 128;

export interface ReconstructIo {
  write: WriteFile;
  signal?: AbortSignal;
  progress?: (p: ReconstructProgress) => void;
  /** With `settings.previews`: a decoder preview of `input` as a PNG, awaited before the next step. */
  preview?: (input: number, png: EncodedPng, step: { step: number; steps: number }) => Promise<void>;
  /** Every input finished so far, called as soon as each one's files are written. */
  done?: (reconstructions: InputReconstruction[]) => Promise<void>;
}

export interface ReconstructProgress {
  input: number;
  inputs: number;
  stage: ReconstructionStage;
  step: number;
  steps: number;
  /** 0..1 over the whole job. */
  fraction: number;
}

/**
 * The reconstructions use case: prepare the planned betas (one input per row after averaging), then
 * reconstruct each input in turn and write its PNGs and scores before the next starts, so a job that
 * stops part-way keeps what is done (`io.done`). Cancellation takes effect between pipeline steps via
 * `signal`.
 */
export async function reconstructBetas(
  deps: PrepareDeps & { reconstructor: Reconstructor },
  plan: BetasPlan,
  settings: ReconstructionSettings,
  io: ReconstructIo,
): Promise<{ prepared: PreparedBetas; reconstructions: InputReconstruction[] }> {
  const prepared = await preparePlanned(deps, plan);
  const [inputs, voxels] = prepared.matrix.shape;
  // Steps per input, for the job's fraction: prior and decoder steps plus one per other stage.
  const decoderSteps = Math.max(1, Math.round(settings.decoder_steps * settings.img2img_strength));
  const perInput = settings.prior_steps + decoderSteps + 4;
  const reconstructions: InputReconstruction[] = [];
  for (let input = 0; input < inputs; input++) {
    io.signal?.throwIfAborted();
    const row = prepared.matrix.data.slice(input * voxels, (input + 1) * voxels);
    const onProgress = (p: ReconstructionStep) => {
      const done = stepsDone(p, settings.prior_steps, decoderSteps);
      const fraction = (input + Math.min(1, done / perInput)) / inputs;
      io.progress?.({ input, inputs, ...p, fraction });
    };
    const preview = io.preview;
    const result = await deps.reconstructor.reconstruct(plan.model.id, row, settings, {
      onProgress,
      signal: io.signal,
      ...(preview && {
        onPreview: async (p) => preview(input, await encodePng(p.image, 0, PREVIEW_MAX_SIDE), p),
      }),
    });
    const entry: InputReconstruction = {
      input,
      clip_scores: result.similarities,
      best_index: result.best,
      seed: settings.seed,
    };
    const prefix = `input-${input}`;
    if (result.image) {
      const png = await encodePng(result.image);
      const file = `${prefix}-best.png`;
      await io.write(file, png.bytes, "image/png");
      entry.best = {
        file,
        width: png.width,
        height: png.height,
        clip_score: result.similarities[result.best]!,
      };
    }
    if (result.candidates) {
      entry.candidates = [];
      for (let k = 0; k < result.similarities.length; k++) {
        const file = `${prefix}-candidate-${String(k).padStart(2, "0")}.png`;
        await io.write(file, (await encodePng(result.candidates, k)).bytes, "image/png");
        entry.candidates.push({ file, clip_score: result.similarities[k]! });
      }
    }
    if (result.blurry) {
      const file = `${prefix}-blurry.png`;
      await io.write(file, (await encodePng(result.blurry)).bytes, "image/png");
      entry.blurry = { file };
    }
    const scores = { input, seed: settings.seed, best: result.best, clip_scores: result.similarities };
    await io.write(`${prefix}-scores.json`, json(scores), "application/json");
    reconstructions.push(entry);
    await io.done?.(reconstructions);
  }
  return { prepared, reconstructions };
}

function stepsDone(p: ReconstructionStep, priorSteps: number, decoderSteps: number): number {
  switch (p.stage) {
    case "embed":
      return 1;
    case "prior":
      return 1 + p.step;
    case "lowlevel":
      return 2 + priorSteps;
    case "decoder":
      return 2 + priorSteps + p.step;
    case "decode":
      return 3 + priorSteps + decoderSteps;
    case "select":
      return 4 + priorSteps + decoderSteps;
  }
}

export function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
}
