/**
 * The small float64 statistics the reconstruction world is fitted with: means, cross-covariances, a ridge
 * regression through sim01's Cholesky solver, and a symmetric eigendecomposition (cyclic Jacobi).
 */
import { cholesky, choleskySolve } from "../ridge.ts";

/** Rows of a row-major [rows, cols] float matrix. */
export interface Samples {
  data: ArrayLike<number>;
  rows: number;
  cols: number;
}

export function columnMeans(x: Samples): Float64Array {
  const mean = new Float64Array(x.cols);
  for (let r = 0; r < x.rows; r++) for (let c = 0; c < x.cols; c++) mean[c]! += x.data[r * x.cols + c]!;
  return mean.map((v) => v / x.rows);
}

/**
 * (x − x̄)ᵀ (y − ȳ) / rows, [x.cols, y.cols]. Each row's outer product is added along contiguous output rows
 * (the generation's hot loop), and only once per pair when x and its mean are y and its mean (symmetric).
 */
export function crossCovariance(x: Samples, xMean: Float64Array, y: Samples, yMean: Float64Array) {
  const out = new Float64Array(x.cols * y.cols);
  const xc = new Float64Array(x.cols);
  const yc = new Float64Array(y.cols);
  const symmetric = x === y && xMean === yMean;
  for (let r = 0; r < x.rows; r++) {
    for (let i = 0; i < x.cols; i++) xc[i] = x.data[r * x.cols + i]! - xMean[i]!;
    for (let j = 0; j < y.cols; j++) yc[j] = y.data[r * y.cols + j]! - yMean[j]!;
    for (let i = 0; i < x.cols; i++) {
      const xi = xc[i]!;
      const row = i * y.cols;
      for (let j = symmetric ? i : 0; j < y.cols; j++) out[row + j]! += xi * yc[j]!;
    }
  }
  if (symmetric) {
    for (let i = 0; i < x.cols; i++) for (let j = 0; j < i; j++) out[i * x.cols + j] = out[j * x.cols + i]!;
  }
  return out.map((v) => v / x.rows);
}

/**
 * B [y.cols, x.cols] minimising ‖(y − ȳ) − (x − x̄) Bᵀ‖² + λ‖B‖², λ = relativeLambda × mean eigenvalue
 * of the x covariance: the linear-Gaussian conditional mean ȳ + B (x − x̄).
 */
export function regress(x: Samples, y: Samples, relativeLambda: number) {
  const xMean = columnMeans(x);
  const yMean = columnMeans(y);
  const cxx = crossCovariance(x, xMean, x, xMean);
  let trace = 0;
  for (let i = 0; i < x.cols; i++) trace += cxx[i * x.cols + i]!;
  const solved = choleskySolve(
    cholesky(cxx, x.cols, (relativeLambda * trace) / x.cols),
    x.cols,
    crossCovariance(x, xMean, y, yMean),
    y.cols,
  );
  const b = new Float64Array(y.cols * x.cols);
  for (let i = 0; i < x.cols; i++)
    for (let j = 0; j < y.cols; j++) b[j * x.cols + i] = solved[i * y.cols + j]!;
  return { xMean, yMean, b };
}

/** ȳ + B (x − x̄) for each row of x, [x.rows, yMean.length]. */
export function predict(x: Samples, fit: ReturnType<typeof regress>): Float64Array {
  const d = fit.yMean.length;
  const out = new Float64Array(x.rows * d);
  const xc = new Float64Array(x.cols);
  for (let r = 0; r < x.rows; r++) {
    for (let i = 0; i < x.cols; i++) xc[i] = x.data[r * x.cols + i]! - fit.xMean[i]!;
    for (let j = 0; j < d; j++) {
      let sum = fit.yMean[j]!;
      for (let i = 0; i < x.cols; i++) sum += fit.b[j * x.cols + i]! * xc[i]!;
      out[r * d + j] = sum;
    }
  }
  return out;
}

/** Eigenvalues and eigenvectors (columns of `vectors`, [n, n] row-major) of a symmetric matrix. */
export function symmetricEigen(
  matrix: Float64Array,
  n: number,
): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: n }, (_, i) => a[i * n + i]!), vectors: v };
}
