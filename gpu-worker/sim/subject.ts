/**
 * The simulated subject: a brain (an ellipsoid in the grid; outside it the files hold 0, as NSD's liberal
 * brain mask leaves them), a visual ROI (the posterior part of the brain; the bundle's mask) and each ROI
 * voxel's tuning. Tuning is retinotopic: a voxel reads one patch token, chosen by its (x, z) position like a
 * visual field map, plus a little of the global token; the most anterior ROI slabs read the global token.
 * Responses are a noisy linear encoding of the stimulus embedding with per-session offset and gain drift and
 * a per-session response pattern that looks like an image's (what per-session z-scoring removes).
 */
import type { Prng } from "./prng.ts";
import {
  BASELINE_SD,
  EMBEDDING_VALUES,
  EVOKED_RMS,
  GRID,
  NOISE_SD,
  PATCH_GRID,
  QUALITY_MIN,
  SESSION_GAIN_LOG_SD,
  SESSION_OFFSET_SD,
  SESSION_STATE_IMAGES,
  SESSION_STATE_RMS,
  TOKEN_DIM,
  VOXEL_GAIN_LOG_SD,
} from "./sim01-spec.ts";

/** int16 betas in the files are PSC x 300 (NSD data manual). */
export const INT16_SCALE = 300;

export interface Subject {
  /** 1 inside the brain, in file order (x fastest: x + X * (y + Y * z)). */
  brain: Uint8Array;
  /** 1 in the ROI, numpy C order over (x, y, z) (z fastest), as the bundle's mask.npy stores it. */
  mask: Uint8Array;
  /** File-order offset of ROI voxel i, i in MindEye order (C order over x, y, z). */
  roiFileOffsets: Int32Array;
  tuning: Tuning;
  /** Each ROI voxel's signal-to-noise factor, U(QUALITY_MIN, 1). */
  quality: Float32Array;
  /** Each ROI voxel's response to any image (its mean over the stimuli, in signal SDs), RMS EVOKED_RMS. */
  evoked: Float32Array;
  /** Fixed per-voxel baseline over the whole brain, file order. */
  baseline: Float32Array;
}

/** Voxel v's raw signal: own[v] . token[token[v]] + global[v] . token[0], then (raw - mean[v]) / sd[v]. */
export interface Tuning {
  token: Int32Array;
  own: Float32Array;
  global: Float32Array;
  mean: Float64Array;
  sd: Float64Array;
}

const [X, Y, Z] = GRID;
const VOLUME = X * Y * Z;

function fileOffset(x: number, y: number, z: number): number {
  return x + X * (y + Y * z);
}

function insideBrain(x: number, y: number, z: number): boolean {
  const u = (x + 0.5 - X / 2) / (X / 2 - 0.5);
  const v = (y + 0.5 - Y / 2) / (Y / 2 - 0.5);
  const w = (z + 0.5 - Z / 2) / (Z / 2 - 0.5);
  return u * u + v * v + w * w <= 1;
}

/** The ROI: brain voxels in the posterior part of the volume. */
const ROI_MAX_Y = 11;
/** ROI voxels at y >= this read the global token (a "higher" area). */
const GLOBAL_AREA_MIN_Y = 9;
const GLOBAL_MIX = 0.3;

function rawSignal(tuning: Tuning, v: number, embedding: Float32Array): number {
  const own = tuning.token[v]! * TOKEN_DIM;
  let sum = 0;
  for (let d = 0; d < TOKEN_DIM; d++) {
    sum += tuning.own[v * TOKEN_DIM + d]! * embedding[own + d]!;
    sum += tuning.global[v * TOKEN_DIM + d]! * embedding[d]!;
  }
  return sum;
}

/** Centred, unit-SD signal of every ROI voxel for one stimulus embedding [TOKENS * TOKEN_DIM]. */
export function voxelSignal(tuning: Tuning, embedding: Float32Array): Float32Array {
  const out = new Float32Array(tuning.token.length);
  for (let v = 0; v < out.length; v++)
    out[v] = (rawSignal(tuning, v, embedding) - tuning.mean[v]!) / tuning.sd[v]!;
  return out;
}

export function makeSubject(rng: Prng, embeddings: Float32Array, stimuli: number): Subject {
  const brain = new Uint8Array(VOLUME);
  const mask = new Uint8Array(VOLUME);
  const offsets: number[] = [];
  const tokens: number[] = [];
  for (let x = 0; x < X; x++) {
    for (let y = 0; y < Y; y++) {
      for (let z = 0; z < Z; z++) {
        if (!insideBrain(x, y, z)) continue;
        brain[fileOffset(x, y, z)] = 1;
        if (y > ROI_MAX_Y) continue;
        mask[(x * Y + y) * Z + z] = 1;
        offsets.push(fileOffset(x, y, z));
        const column = Math.min(PATCH_GRID - 1, Math.floor((x / X) * PATCH_GRID));
        const row = Math.min(PATCH_GRID - 1, Math.floor((z / Z) * PATCH_GRID));
        tokens.push(y >= GLOBAL_AREA_MIN_Y ? 0 : 1 + row * PATCH_GRID + column);
      }
    }
  }
  const voxels = offsets.length;
  const tuning: Tuning = {
    token: Int32Array.from(tokens),
    own: Float32Array.from({ length: voxels * TOKEN_DIM }, () => rng.gaussian()),
    global: Float32Array.from({ length: voxels * TOKEN_DIM }, () => GLOBAL_MIX * rng.gaussian()),
    mean: new Float64Array(voxels),
    sd: new Float64Array(voxels).fill(1),
  };
  // Each voxel's mean and SD over the stimulus set, so signals are centred with unit SD.
  const squares = new Float64Array(voxels);
  for (let s = 0; s < stimuli; s++) {
    const embedding = embeddings.subarray(s * EMBEDDING_VALUES, (s + 1) * EMBEDDING_VALUES);
    for (let v = 0; v < voxels; v++) {
      const raw = rawSignal(tuning, v, embedding);
      tuning.mean[v]! += raw / stimuli;
      squares[v]! += (raw * raw) / stimuli;
    }
  }
  for (let v = 0; v < voxels; v++) tuning.sd[v] = Math.sqrt(squares[v]! - tuning.mean[v]! ** 2);
  // The evoked response follows the voxel's mean drive, so it lies along the tuning the decoder reads.
  const drive = Float32Array.from({ length: voxels }, (_, v) => tuning.mean[v]! / tuning.sd[v]!);
  const rms = Math.sqrt(drive.reduce((a, b) => a + b * b, 0) / voxels);
  const evoked = drive.map((m) => (EVOKED_RMS * m) / rms);
  const quality = Float32Array.from({ length: voxels }, () => rng.uniform(QUALITY_MIN, 1));
  const baseline = Float32Array.from({ length: VOLUME }, (_, i) =>
    brain[i] ? BASELINE_SD * rng.gaussian() : 0,
  );
  return { brain, mask, roiFileOffsets: Int32Array.from(offsets), tuning, quality, evoked, baseline };
}

/**
 * A session's own response pattern: a random weighted sum of SESSION_STATE_IMAGES stimuli's signals, centred
 * and scaled to RMS SESSION_STATE_RMS over the ROI. It lies along the voxels' tuning, so it decodes like an
 * image; within one session it is the same on every trial, so z-scoring over the session removes it.
 */
function sessionState(rng: Prng, signals: readonly Float32Array[], voxels: number): Float32Array {
  const state = new Float32Array(voxels);
  for (let k = 0; k < SESSION_STATE_IMAGES; k++) {
    const signal = signals[rng.int(0, signals.length)]!;
    const weight = rng.gaussian();
    for (let v = 0; v < voxels; v++) state[v]! += weight * signal[v]!;
  }
  const mean = state.reduce((a, b) => a + b, 0) / voxels;
  const rms = Math.sqrt(state.reduce((a, b) => a + (b - mean) ** 2, 0) / voxels);
  return state.map((x) => (SESSION_STATE_RMS * (x - mean)) / rms);
}

/**
 * One session's betas as NSD stores them: int16 PSC x 300, [trials, Z, Y, X] (x fastest; the byte order of
 * both the NIfTI data block and the HDF5 /betas dataset). `signals[s]` is stimulus s's voxelSignal.
 */
export function simulateSession(
  subject: Subject,
  rng: Prng,
  trialStimuli: readonly number[],
  signals: readonly Float32Array[],
): Int16Array {
  const sessionGain = Math.exp(SESSION_GAIN_LOG_SD * rng.gaussian());
  const evokedAmplitude = Math.exp(SESSION_GAIN_LOG_SD * rng.gaussian());
  const state = sessionState(rng, signals, subject.roiFileOffsets.length);
  const offset = new Float32Array(VOLUME);
  const gain = new Float32Array(VOLUME);
  for (let i = 0; i < VOLUME; i++) {
    if (!subject.brain[i]) continue;
    offset[i] = subject.baseline[i]! + SESSION_OFFSET_SD * rng.gaussian();
    gain[i] = sessionGain * Math.exp(VOXEL_GAIN_LOG_SD * rng.gaussian());
  }
  const response = new Float32Array(VOLUME);
  const betas = new Int16Array(trialStimuli.length * VOLUME);
  trialStimuli.forEach((stimulus, t) => {
    const signal = signals[stimulus]!;
    response.fill(0);
    subject.roiFileOffsets.forEach((off, v) => {
      response[off] = subject.quality[v]! * (evokedAmplitude * subject.evoked[v]! + state[v]! + signal[v]!);
    });
    const base = t * VOLUME;
    for (let i = 0; i < VOLUME; i++) {
      if (!subject.brain[i]) continue;
      const psc = offset[i]! + gain[i]! * (response[i]! + NOISE_SD * rng.gaussian());
      betas[base + i] = Math.max(-32768, Math.min(32767, Math.round(psc * INT16_SCALE)));
    }
  });
  return betas;
}
