/**
 * sim01's generative world for reconstruction, fitted on the training sessions' stimuli and trials only:
 * - latent: the linear VAE stand-in (latent-basis.ts), its scale set so scaled latents have unit RMS;
 * - decoder: z | ẽ ~ N(μ_z + A (ẽ − μ_ẽ), Σ) over scaled latents z, where ẽ is the image's stand-in CLIP
 *   embedding divided by its CLS-token norm (what the pipeline conditions the UNet on); Σ, the residual
 *   covariance, is kept as its eigendecomposition so the UNet graph's ε̂ is exact;
 * - prior: e | b ~ N(μ_e + C (b − μ_b), diag σ²), b the voxel2clip backbone of the trial (in its own,
 *   rotated space: backbone-space.ts), C a ridge regression, σ² the residual variance per coordinate;
 * - low-level: voxels -> backbone (the ridge) -> latent (a regression of z on the raw embedding), one
 *   linear map.
 */
import { rotateRows } from "../backbone-space.ts";
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
  prior: {
    /** μ_e − C μ_b [EMBEDDING_VALUES] and C [EMBEDDING_VALUES, EMBEDDING_VALUES] row-major. */
    offset: Float32Array;
    map: Float32Array;
    variance: Float32Array;
  };
  lowlevel: { weights: Float32Array; bias: Float32Array };
}

/** Ridge penalties (× mean eigenvalue of the inputs' covariance) of the two embedding -> latent maps. */
const DECODER_RELATIVE_LAMBDA = 0.01;
/** Every PRIOR_ROW_STEP-th training trial fits the prior (its backbones are an N × V × 544 product). */
const PRIOR_ROW_STEP = 2;
const PRIOR_RELATIVE_LAMBDA = 0.01;

/** Each embedding divided by its CLS-token norm (+1e-6), as reconstruct.ts rescales the prior's samples. */
export function clsNormalized(embedding: Float32Array): Float32Array {
  let squares = 0;
  for (let i = 0; i < TOKEN_DIM; i++) squares += embedding[i]! ** 2;
  const scale = Math.sqrt(squares) + 1e-6;
  return embedding.map((v) => v / scale);
}

export function trainingStimuli(world: World): number[] {
  const test = new Set(world.design.testStimuli);
  return world.design.sessions.flatMap((s) => s.stimuli).filter((s) => !test.has(s));
}

/** Backbone (ridge output, rotated into the backbone space) of each row of prepared voxels. */
export function backbones(world: World, voxels: Float32Array, rows: number, fit: RidgeFit): Float32Array {
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
  return Float32Array.from(rotateRows(out, rows, world.backboneRotation, EMBEDDING_VALUES));
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
  const residualMean = columnMeans(r);
  const { values, vectors } = symmetricEigen(
    crossCovariance(r, residualMean, r, residualMean),
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
  const b = backbones(world, voxels, rows, fit);
  const samples = { data: b, rows, cols: EMBEDDING_VALUES };
  const map = regress(samples, { data: targets, rows, cols: EMBEDDING_VALUES }, PRIOR_RELATIVE_LAMBDA);
  const predicted = predict(samples, map);
  const variance = new Float32Array(EMBEDDING_VALUES);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < EMBEDDING_VALUES; j++)
      variance[j]! += (targets[r * EMBEDDING_VALUES + j]! - predicted[r * EMBEDDING_VALUES + j]!) ** 2 / rows;
  const offset = Float32Array.from(map.yMean, (m, j) => {
    let sum = m;
    for (let i = 0; i < EMBEDDING_VALUES; i++) sum -= map.b[j * EMBEDDING_VALUES + i]! * map.xMean[i]!;
    return sum;
  });
  return { offset, map: Float32Array.from(map.b), variance: variance.map((v) => Math.max(v, 1e-8)) };
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
