/**
 * sim01's generative world for reconstruction, fitted on the training sessions' stimuli and trials only:
 * - latent: the linear VAE stand-in (latent-basis.ts), its scale set so scaled latents have unit RMS;
 * - decoder: z | ẽ ~ N(μ_z + A (ẽ − μ_ẽ), Σ) over scaled latents z, where ẽ is the image's stand-in CLIP
 *   embedding divided by its CLS-token norm (what the pipeline conditions the UNet on); Σ, the residual
 *   covariance, is kept as its eigendecomposition so the UNet graph's ε̂ is exact;
 * - prior: e_i | b ~ N(α_i + β_i b_i, σ_i²) per coordinate, b the voxel2clip backbone of the trial;
 * - low-level: voxels -> backbone (the ridge) -> latent (a regression of z on the raw embedding), one
 *   linear map.
 */
import { imageTensor } from "../encoder.ts";
import { trainingSet } from "../fit-voxel2clip.ts";
import type { RidgeFit } from "../ridge.ts";
import { EMBEDDING_VALUES, TOKEN_DIM } from "../sim01-spec.ts";
import type { World } from "../world.ts";
import { columnMeans, crossCovariance, predict, regress, symmetricEigen } from "./gaussian-fit.ts";
import { encodeLatent, LATENT_VALUES } from "./latent-basis.ts";

export interface ReconWorld {
  /** Divides basis coefficients into scaled latents. */
  latentScale: number;
  decoder: {
    muLatent: Float32Array;
    muCondition: Float32Array;
    /** A, [LATENT_VALUES, EMBEDDING_VALUES] row-major. */
    gain: Float32Array;
    /** Σ = U diag(λ) Uᵀ: λ [LATENT_VALUES], U [LATENT_VALUES, LATENT_VALUES] (eigenvectors as columns). */
    eigenvalues: Float32Array;
    eigenvectors: Float32Array;
  };
  prior: { alpha: Float32Array; beta: Float32Array; variance: Float32Array };
  lowlevel: { weights: Float32Array; bias: Float32Array };
}

/** Ridge penalties (× mean eigenvalue of the inputs' covariance) of the two embedding -> latent maps. */
const DECODER_RELATIVE_LAMBDA = 0.01;
/** Every PRIOR_ROW_STEP-th training trial fits the prior (its backbones are an N × V × 544 product). */
const PRIOR_ROW_STEP = 2;

/** Each embedding divided by its CLS-token norm (+1e-6), as reconstruct.ts rescales the prior's samples. */
export function clsNormalized(embedding: Float32Array): Float32Array {
  let squares = 0;
  for (let i = 0; i < TOKEN_DIM; i++) squares += embedding[i]! ** 2;
  const scale = Math.sqrt(squares) + 1e-6;
  return embedding.map((v) => v / scale);
}

export function trainingStimuli(world: World): number[] {
  return world.design.sessions.filter((s) => !s.heldOut).flatMap((s) => s.stimuli);
}

/** Backbone (ridge output) of each row of prepared voxels, [rows, EMBEDDING_VALUES]. */
export function backbones(voxels: Float32Array, rows: number, fit: RidgeFit): Float32Array {
  const v = voxels.length / rows;
  const out = new Float32Array(rows * EMBEDDING_VALUES);
  for (let r = 0; r < rows; r++) {
    const o = out.subarray(r * EMBEDDING_VALUES, (r + 1) * EMBEDDING_VALUES);
    o.set(fit.bias);
    for (let i = 0; i < v; i++) {
      const x = voxels[r * v + i]!;
      const w = fit.weights.subarray(i * EMBEDDING_VALUES, (i + 1) * EMBEDDING_VALUES);
      for (let j = 0; j < EMBEDDING_VALUES; j++) o[j]! += x * w[j]!;
    }
  }
  return out;
}

export function fitReconWorld(world: World, fit: RidgeFit): ReconWorld {
  const stimuli = trainingStimuli(world);
  const rows = stimuli.length;
  const coefficients = new Float32Array(rows * LATENT_VALUES);
  const raw = new Float32Array(rows * EMBEDDING_VALUES);
  const normalized = new Float32Array(rows * EMBEDDING_VALUES);
  for (const [r, s] of stimuli.entries()) {
    coefficients.set(encodeLatent(imageTensor(world.pixels[s]!), 1), r * LATENT_VALUES);
    const e = world.embeddings.subarray(s * EMBEDDING_VALUES, (s + 1) * EMBEDDING_VALUES);
    raw.set(e, r * EMBEDDING_VALUES);
    normalized.set(clsNormalized(e), r * EMBEDDING_VALUES);
  }
  const latentScale = Math.sqrt(coefficients.reduce((sum, v) => sum + v * v, 0) / coefficients.length);
  const latents = coefficients.map((v) => v / latentScale);
  const z = { data: latents, rows, cols: LATENT_VALUES };

  const conditional = regress({ data: normalized, rows, cols: EMBEDDING_VALUES }, z, DECODER_RELATIVE_LAMBDA);
  const residual = predict({ data: normalized, rows, cols: EMBEDDING_VALUES }, conditional).map(
    (p, i) => latents[i]! - p,
  );
  const r = { data: residual, rows, cols: LATENT_VALUES };
  const { values, vectors } = symmetricEigen(
    crossCovariance(r, columnMeans(r), r, columnMeans(r)),
    LATENT_VALUES,
  );

  return {
    latentScale,
    decoder: {
      muLatent: Float32Array.from(conditional.yMean),
      muCondition: Float32Array.from(conditional.xMean),
      gain: Float32Array.from(conditional.b),
      // Round-off can leave the smallest eigenvalues a hair below zero; the world needs Σ ≥ 0.
      eigenvalues: Float32Array.from(values, (v) => Math.max(v, 1e-8)),
      eigenvectors: Float32Array.from(vectors),
    },
    prior: fitPrior(world, fit),
    lowlevel: fitLowlevel(
      fit,
      regress({ data: raw, rows, cols: EMBEDDING_VALUES }, z, DECODER_RELATIVE_LAMBDA),
    ),
  };
}

function fitPrior(world: World, fit: RidgeFit): ReconWorld["prior"] {
  const { x, y } = trainingSet(world);
  const rows = Math.ceil(x.rows / PRIOR_ROW_STEP);
  const voxels = new Float32Array(rows * x.cols);
  const targets = new Float32Array(rows * EMBEDDING_VALUES);
  for (let r = 0; r < rows; r++) {
    const row = r * PRIOR_ROW_STEP;
    voxels.set(x.data.subarray(row * x.cols, (row + 1) * x.cols), r * x.cols);
    targets.set(y.data.subarray(row * EMBEDDING_VALUES, (row + 1) * EMBEDDING_VALUES), r * EMBEDDING_VALUES);
  }
  const b = backbones(voxels, rows, fit);
  const alpha = new Float32Array(EMBEDDING_VALUES);
  const beta = new Float32Array(EMBEDDING_VALUES);
  const variance = new Float32Array(EMBEDDING_VALUES);
  for (let j = 0; j < EMBEDDING_VALUES; j++) {
    let [mb, me] = [0, 0];
    for (let r = 0; r < rows; r++) {
      mb += b[r * EMBEDDING_VALUES + j]! / rows;
      me += targets[r * EMBEDDING_VALUES + j]! / rows;
    }
    let [vb, ve, cbe] = [0, 0, 0];
    for (let r = 0; r < rows; r++) {
      const db = b[r * EMBEDDING_VALUES + j]! - mb;
      const de = targets[r * EMBEDDING_VALUES + j]! - me;
      vb += db * db;
      ve += de * de;
      cbe += db * de;
    }
    beta[j] = cbe / vb;
    alpha[j] = me - beta[j]! * mb;
    variance[j] = Math.max((ve - beta[j]! * cbe) / rows, 1e-8);
  }
  return { alpha, beta, variance };
}

/** latent(v) = μ_z + G (W v + b − μ_e): the ridge composed with the raw-embedding -> latent regression. */
function fitLowlevel(fit: RidgeFit, toLatent: ReturnType<typeof regress>): ReconWorld["lowlevel"] {
  const voxels = fit.weights.length / EMBEDDING_VALUES;
  const g = toLatent.b;
  const weights = new Float32Array(voxels * LATENT_VALUES);
  for (let v = 0; v < voxels; v++) {
    const w = fit.weights.subarray(v * EMBEDDING_VALUES, (v + 1) * EMBEDDING_VALUES);
    for (let j = 0; j < LATENT_VALUES; j++) {
      let sum = 0;
      for (let i = 0; i < EMBEDDING_VALUES; i++) sum += g[j * EMBEDDING_VALUES + i]! * w[i]!;
      weights[v * LATENT_VALUES + j] = sum;
    }
  }
  const bias = new Float32Array(LATENT_VALUES);
  for (let j = 0; j < LATENT_VALUES; j++) {
    let sum = toLatent.yMean[j]!;
    for (let i = 0; i < EMBEDDING_VALUES; i++)
      sum += g[j * EMBEDDING_VALUES + i]! * (fit.bias[i]! - toLatent.xMean[i]!);
    bias[j] = sum;
  }
  return { weights, bias };
}
