/**
 * UniPC multistep (Zhao et al. 2023) exactly as diffusers 0.13.0 `UniPCMultistepScheduler` runs it with
 * Versatile Diffusion's config (reference §3.5): data prediction (x̂₀ from ε), B(h) = expm1(−h) (bh2),
 * predictor UniP of order min(solverOrder, steps taken + 1) with ρ = ½ hard-wired at order 2, corrector
 * UniC applied to every sample but the first and the last, and with `lowerOrderFinal` the last step at
 * order 1. One model evaluation per step: the stored x̂₀ is that of the uncorrected sample.
 *
 * The solver runs on a grid of noise levels (α, σ, λ): grid[k] is where step k starts and grid[k + 1]
 * where it lands; `diffusersGrid` builds diffusers' grid (its timesteps, then t = 0), and a test can hand
 * any other (e.g. λ-uniform). Scalars are rounded to float32 where diffusers holds float32 tensors.
 */
import type { VpSchedule } from "./scaled-linear-schedule.ts";

export interface NoiseLevel {
  alpha: number;
  sigma: number;
  lambda: number;
}

/** What step k did, for logs and for checking against upstream's per-step goldens. */
export interface UniPCStepInfo {
  predictorOrder: number;
  correctorOrder: number | null;
  rhoCorrector: number[] | null;
  h: number;
}

const f = Math.fround;

/** diffusers' grid for `timesteps`: each timestep's level, then t = 0 (v0.13 ends at σ₀ ≈ 0.029, not 0). */
export function diffusersGrid(schedule: VpSchedule, timesteps: number[]): NoiseLevel[] {
  return [...timesteps, 0].map((t) => ({
    alpha: schedule.alpha[t]!,
    sigma: schedule.sigma[t]!,
    lambda: schedule.lambda[t]!,
  }));
}

export class UniPCMultistep {
  private readonly steps: number;
  /** Buffers for x̂₀ of the last solverOrder steps plus the one being computed; newest last in `history`. */
  private readonly buffers: Float32Array[];
  private history: { level: number; x0: Float32Array }[] = [];
  private readonly lastSample: Float32Array;
  private hasLastSample = false;
  private lowerOrderNums = 0;
  private thisOrder = 1;

  constructor(
    private readonly grid: NoiseLevel[],
    private readonly size: number,
    private readonly options: { solverOrder: number; lowerOrderFinal: boolean },
  ) {
    if (grid.length < 2) throw new RangeError("a UniPC grid needs at least one step (two levels)");
    // diffusers' predictor hard-wires ρ = ½ at order 2; higher orders are not what VD ran.
    if (options.solverOrder !== 1 && options.solverOrder !== 2) {
      throw new RangeError(`solverOrder must be 1 or 2, got ${options.solverOrder}`);
    }
    this.steps = grid.length - 1;
    this.buffers = Array.from({ length: options.solverOrder + 1 }, () => new Float32Array(size));
    this.lastSample = new Float32Array(size);
  }

  /**
   * Step k from grid[k] to grid[k + 1]: `sample` holds x at grid[k] and is overwritten with x at
   * grid[k + 1]; `eps` is the model's ε̂ for `sample`. Steps must come in order; img2img starts at k > 0.
   */
  step(k: number, eps: Float32Array, sample: Float32Array): UniPCStepInfo {
    if (sample.length !== this.size || eps.length !== this.size) {
      throw new Error(`UniPC step sizes ${sample.length}/${eps.length}, expected ${this.size}`);
    }
    const level = this.grid[k]!;
    const x0 = this.freeBuffer();
    for (let i = 0; i < this.size; i++) x0[i] = (sample[i]! - level.sigma * eps[i]!) / level.alpha;

    let correctorOrder: number | null = null;
    let rhoCorrector: number[] | null = null;
    if (k > 0 && this.hasLastSample) {
      correctorOrder = this.thisOrder;
      rhoCorrector = this.correct(k, x0, sample, this.thisOrder);
    }

    this.history.push({ level: k, x0 });
    if (this.history.length > this.options.solverOrder) this.history.shift();
    const order = this.options.lowerOrderFinal
      ? Math.min(this.options.solverOrder, this.steps - k)
      : this.options.solverOrder;
    this.thisOrder = Math.min(order, this.lowerOrderNums + 1);
    this.lastSample.set(sample);
    this.hasLastSample = true;
    const h = this.predict(k + 1, sample, this.thisOrder);
    if (this.lowerOrderNums < this.options.solverOrder) this.lowerOrderNums += 1;
    return { predictorOrder: this.thisOrder, correctorOrder, rhoCorrector, h };
  }

  private freeBuffer(): Float32Array {
    return this.buffers.find((b) => !this.history.some((entry) => entry.x0 === b))!;
  }

  /** h, the D1 differences' ratios r_i and the b vector shared by UniP and UniC (bh2, data prediction). */
  private coefficients(target: number, order: number) {
    const s0 = this.history[this.history.length - 1]!;
    const to = this.grid[target]!;
    const from = this.grid[s0.level]!;
    const h = f(to.lambda - from.lambda);
    const hh = -h;
    const hPhi1 = f(Math.expm1(hh));
    const bH = hPhi1;
    const ratios: number[] = [];
    for (let i = 1; i < order; i++) {
      const si = this.history[this.history.length - 1 - i]!;
      ratios.push(f(f(this.grid[si.level]!.lambda - from.lambda) / h));
    }
    const rks = [...ratios, 1];
    const R: number[][] = [];
    const b: number[] = [];
    let hPhiK = f(hPhi1 / hh - 1);
    let factorial = 1;
    for (let i = 1; i <= order; i++) {
      R.push(rks.map((r) => r ** (i - 1)));
      b.push(f((hPhiK * factorial) / bH));
      factorial *= i + 1;
      hPhiK = f(hPhiK / hh - 1 / factorial);
    }
    return { h, hPhi1, bH, ratios, R, b, to, from, m0: s0.x0 };
  }

  /** UniP from the latest history entry to grid[target], in place on `sample`. Returns h. */
  private predict(target: number, sample: Float32Array, order: number): number {
    const { h, hPhi1, bH, ratios, to, from, m0 } = this.coefficients(target, order);
    const rhos = order === 1 ? [] : [0.5];
    const older = ratios.map((_, i) => this.history[this.history.length - 2 - i]!.x0);
    const sigmaRatio = f(to.sigma / from.sigma);
    const baseScale = f(to.alpha * hPhi1);
    const correctionScale = f(to.alpha * bH);
    for (let j = 0; j < this.size; j++) {
      let residual = 0;
      for (let i = 0; i < older.length; i++) residual += (rhos[i]! * (older[i]![j]! - m0[j]!)) / ratios[i]!;
      sample[j] = sigmaRatio * sample[j]! - baseScale * m0[j]! - correctionScale * residual;
    }
    return h;
  }

  /** UniC of `lastSample` to grid[k] with the new x̂₀ `modelT`, written into `sample`. Returns ρ_c. */
  private correct(k: number, modelT: Float32Array, sample: Float32Array, order: number): number[] {
    const { hPhi1, bH, ratios, R, b, to, from, m0 } = this.coefficients(k, order);
    const rhos = order === 1 ? [0.5] : solve(R, b).map(f);
    const older = ratios.map((_, i) => this.history[this.history.length - 2 - i]!.x0);
    const sigmaRatio = f(to.sigma / from.sigma);
    const baseScale = f(to.alpha * hPhi1);
    const correctionScale = f(to.alpha * bH);
    const last = rhos[rhos.length - 1]!;
    const x = this.lastSample;
    for (let j = 0; j < this.size; j++) {
      let residual = last * (modelT[j]! - m0[j]!);
      for (let i = 0; i < older.length; i++) residual += (rhos[i]! * (older[i]![j]! - m0[j]!)) / ratios[i]!;
      sample[j] = sigmaRatio * x[j]! - baseScale * m0[j]! - correctionScale * residual;
    }
    return rhos;
  }
}

/** Gaussian elimination with partial pivoting for UniC's 2x2 system. */
function solve(matrix: number[][], rhs: number[]): number[] {
  const n = rhs.length;
  const a = matrix.map((row, i) => [...row, rhs[i]!]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    for (let r = col + 1; r < n; r++) {
      const factor = a[r]![col]! / a[col]![col]!;
      for (let c = col; c <= n; c++) a[r]![c]! -= factor * a[col]![c]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let sum = a[r]![n]!;
    for (let c = r + 1; c < n; c++) sum -= a[r]![c]! * x[c]!;
    x[r] = sum / a[r]![r]!;
  }
  return x;
}
