/**
 * Closed-form ridge regression with intercept, W = (Xc^T Xc + lambda I)^-1 Xc^T Yc (Xc, Yc centred), solved
 * by a Cholesky factorisation written here, in float64. Primal form: one V x V factorisation per lambda.
 * Lambda is chosen by R^2 on held-out rows, then the fit is redone on every row with it.
 */

/** A row-major float32 matrix. */
export interface Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

export interface RidgeFit {
  /** [x.cols, y.cols], row-major. */
  weights: Float32Array;
  /** [y.cols]: mean(Y) - mean(X) W. */
  bias: Float32Array;
  lambda: number;
  /** lambda / (trace(Xc^T Xc) / V): the penalty relative to the mean eigenvalue. */
  relativeLambda: number;
  /** R^2 on the validation rows (scored columns) for each candidate. */
  search: { relativeLambda: number; r2: number }[];
}

export interface RidgeOptions {
  /** Candidate penalties, as multiples of the mean eigenvalue of Xc^T Xc (trace / V). */
  relativeLambdas: readonly number[];
  /** Rows held out to choose lambda (the others fit); the final fit uses every row. */
  validationRows: readonly number[];
  /** Y columns scored when choosing lambda (a subset keeps the search cheap). */
  scoredColumns: readonly number[];
  onLambda?: (relativeLambda: number, r2: number) => void;
}

/** 4-way unrolled dot product of a[aStart..aStart+len) and b[bStart..). */
function dot(a: Float64Array, aStart: number, b: Float64Array, bStart: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < len; k += 4) {
    s0 += a[aStart + k]! * b[bStart + k]!;
    s1 += a[aStart + k + 1]! * b[bStart + k + 1]!;
    s2 += a[aStart + k + 2]! * b[bStart + k + 2]!;
    s3 += a[aStart + k + 3]! * b[bStart + k + 3]!;
  }
  for (; k < len; k++) s0 += a[aStart + k]! * b[bStart + k]!;
  return s0 + s1 + s2 + s3;
}

/** Columns of m as rows of length `order.length`, taking m's rows in the given order. */
function transposed(m: Matrix, order: readonly number[]): Float32Array {
  const n = order.length;
  const out = new Float32Array(m.cols * n);
  order.forEach((row, k) => {
    const base = row * m.cols;
    for (let c = 0; c < m.cols; c++) out[c * n + k] = m.data[base + c]!;
  });
  return out;
}

function rowMeans(t: Float32Array, count: number, n: number, start: number, len: number): Float64Array {
  const means = new Float64Array(count);
  for (let c = 0; c < count; c++) {
    let sum = 0;
    for (let k = 0; k < len; k++) sum += t[c * n + start + k]!;
    means[c] = sum / len;
  }
  return means;
}

/** Centred cross products over the first `nFit` rows and over all n rows, from one pass over the data. */
interface CrossProducts {
  gram: Float64Array;
  xty: Float64Array;
  xMean: Float64Array;
  yMean: Float64Array;
}

/**
 * Sums of a[i] * b[j] over k in [0, split) and [split, n) for rows i0..i0+3 of a and row j of b: four rows
 * at once, so each b value loaded serves four products (the loop is bound by memory traffic otherwise).
 */
function dot4(
  a: Float32Array,
  i0: number,
  b: Float32Array,
  j: number,
  n: number,
  split: number,
  out: Float64Array,
) {
  const a0 = i0 * n;
  const a1 = a0 + n;
  const a2 = a1 + n;
  const a3 = a2 + n;
  const bj = j * n;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let k = 0; k < split; k++) {
    const bk = b[bj + k]!;
    s0 += a[a0 + k]! * bk;
    s1 += a[a1 + k]! * bk;
    s2 += a[a2 + k]! * bk;
    s3 += a[a3 + k]! * bk;
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
  s0 = s1 = s2 = s3 = 0;
  for (let k = split; k < n; k++) {
    const bk = b[bj + k]!;
    s0 += a[a0 + k]! * bk;
    s1 += a[a1 + k]! * bk;
    s2 += a[a2 + k]! * bk;
    s3 += a[a3 + k]! * bk;
  }
  out[4] = s0;
  out[5] = s1;
  out[6] = s2;
  out[7] = s3;
}

function crossProducts(xT: Float32Array, v: number, yT: Float32Array, d: number, n: number, nFit: number) {
  const gramFit = new Float64Array(v * v);
  const gramAll = new Float64Array(v * v);
  const xtyFit = new Float64Array(v * d);
  const xtyAll = new Float64Array(v * d);
  // Pad X^T to a multiple of 4 rows for dot4; the padding rows are zero and never stored.
  const rows4 = Math.ceil(v / 4) * 4;
  const xPadded = new Float32Array(rows4 * n);
  xPadded.set(xT);
  const sums = new Float64Array(8);
  for (let i0 = 0; i0 < v; i0 += 4) {
    for (let j = i0; j < v; j++) {
      dot4(xPadded, i0, xPadded, j, n, nFit, sums);
      for (let r = 0; r < 4 && i0 + r <= j; r++) {
        const i = i0 + r;
        gramFit[i * v + j] = gramFit[j * v + i] = sums[r]!;
        gramAll[i * v + j] = gramAll[j * v + i] = sums[r]! + sums[4 + r]!;
      }
    }
    for (let j = 0; j < d; j++) {
      dot4(xPadded, i0, yT, j, n, nFit, sums);
      for (let r = 0; r < 4 && i0 + r < v; r++) {
        xtyFit[(i0 + r) * d + j] = sums[r]!;
        xtyAll[(i0 + r) * d + j] = sums[r]! + sums[4 + r]!;
      }
    }
  }
  const centred = (gram: Float64Array, xty: Float64Array, rows: number): CrossProducts => {
    const xMean = rowMeans(xT, v, n, 0, rows);
    const yMean = rowMeans(yT, d, n, 0, rows);
    for (let i = 0; i < v; i++) {
      for (let j = 0; j < v; j++) gram[i * v + j]! -= rows * xMean[i]! * xMean[j]!;
      for (let j = 0; j < d; j++) xty[i * d + j]! -= rows * xMean[i]! * yMean[j]!;
    }
    return { gram, xty, xMean, yMean };
  };
  return { fit: centred(gramFit, xtyFit, nFit), all: centred(gramAll, xtyAll, n) };
}

/** Lower-triangular L with L L^T = A + lambda I (A symmetric positive semi-definite, n x n). */
export function cholesky(a: Float64Array, n: number, lambda: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const rowJ = j * n;
    const diagonal = a[rowJ + j]! + lambda - dot(l, rowJ, l, rowJ, j);
    if (!(diagonal > 0)) throw new Error(`ridge: matrix not positive definite at column ${j}`);
    const pivot = Math.sqrt(diagonal);
    l[rowJ + j] = pivot;
    for (let i = j + 1; i < n; i++) l[i * n + j] = (a[i * n + j]! - dot(l, i * n, l, rowJ, j)) / pivot;
  }
  return l;
}

/** Solves L L^T W = B for B [n, d] (row-major), returning W. */
export function choleskySolve(l: Float64Array, n: number, b: Float64Array, d: number): Float64Array {
  const w = Float64Array.from(b);
  const axpy = (factor: number, src: number, out: number) => {
    for (let j = 0; j < d; j++) w[out + j]! -= factor * w[src + j]!;
  };
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < i; k++) axpy(l[i * n + k]!, k * d, i * d);
    const pivot = l[i * n + i]!;
    for (let j = 0; j < d; j++) w[i * d + j]! /= pivot;
  }
  for (let i = n - 1; i >= 0; i--) {
    for (let k = i + 1; k < n; k++) axpy(l[k * n + i]!, k * d, i * d);
    const pivot = l[i * n + i]!;
    for (let j = 0; j < d; j++) w[i * d + j]! /= pivot;
  }
  return w;
}

function meanEigenvalue(gram: Float64Array, v: number): number {
  let trace = 0;
  for (let i = 0; i < v; i++) trace += gram[i * v + i]!;
  return trace / v;
}

function pickColumns(m: Float64Array, d: number, rows: number, columns: readonly number[]): Float64Array {
  const out = new Float64Array(rows * columns.length);
  for (let r = 0; r < rows; r++) {
    for (const [j, c] of columns.entries()) out[r * columns.length + j] = m[r * d + c]!;
  }
  return out;
}

/** R^2 (pooled over the scored columns) of the fit on the validation rows, which sit at [nFit, n) in xT/yT. */
function validationR2(
  xT: Float32Array,
  yT: Float32Array,
  v: number,
  n: number,
  nFit: number,
  columns: readonly number[],
  w: Float64Array,
  fit: CrossProducts,
): number {
  const d = columns.length;
  let residual = 0;
  let total = 0;
  const yValMean = rowMeans(yT, yT.length / n, n, nFit, n - nFit);
  for (let k = nFit; k < n; k++) {
    for (let j = 0; j < d; j++) {
      const col = columns[j]!;
      let prediction = fit.yMean[col]!;
      for (let i = 0; i < v; i++) prediction += (xT[i * n + k]! - fit.xMean[i]!) * w[i * d + j]!;
      const truth = yT[col * n + k]!;
      residual += (truth - prediction) ** 2;
      total += (truth - yValMean[col]!) ** 2;
    }
  }
  return 1 - residual / total;
}

/** Chooses lambda by R^2 on the validation rows, then refits on every row with it. */
export function fitRidge(x: Matrix, y: Matrix, options: RidgeOptions): RidgeFit {
  const v = x.cols;
  const d = y.cols;
  const held = new Set(options.validationRows);
  const fitRows = Array.from({ length: x.rows }, (_, i) => i).filter((r) => !held.has(r));
  const order = [...fitRows, ...options.validationRows];
  const n = order.length;
  const xT = transposed(x, order);
  const yT = transposed(y, order);
  const { fit, all } = crossProducts(xT, v, yT, d, n, fitRows.length);

  const scale = meanEigenvalue(fit.gram, v);
  const xtyScored = pickColumns(fit.xty, d, v, options.scoredColumns);
  const search = options.relativeLambdas.map((relativeLambda) => {
    const l = cholesky(fit.gram, v, relativeLambda * scale);
    const w = choleskySolve(l, v, xtyScored, options.scoredColumns.length);
    const r2 = validationR2(xT, yT, v, n, fitRows.length, options.scoredColumns, w, fit);
    options.onLambda?.(relativeLambda, r2);
    return { relativeLambda, r2 };
  });
  const best = search.reduce((a, b) => (b.r2 > a.r2 ? b : a));

  const lambda = best.relativeLambda * meanEigenvalue(all.gram, v);
  const w = choleskySolve(cholesky(all.gram, v, lambda), v, all.xty, d);
  const bias = new Float32Array(d);
  for (let j = 0; j < d; j++) {
    let value = all.yMean[j]!;
    for (let i = 0; i < v; i++) value -= all.xMean[i]! * w[i * d + j]!;
    bias[j] = value;
  }
  return { weights: Float32Array.from(w), bias, lambda, relativeLambda: best.relativeLambda, search };
}
