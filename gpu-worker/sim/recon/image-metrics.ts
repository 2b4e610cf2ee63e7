/**
 * The paper's image metrics that run here (mindeye-reference §5.1), on [3, H, W] images in [0, 1] at
 * their own size (sim01's 64×64; MindEye resizes to 425 first):
 * - PixCorr: Pearson correlation of the flattened pixels;
 * - SSIM: of the grayscale images (rgb2gray weights), Gaussian window σ 1.5 (truncated at 3.5σ), population
 *   covariances, data range 1, reflected borders, averaged over the map with the window's half-width
 *   cropped (skimage's structural_similarity as MindEye calls it);
 * - two-way identification: for each reconstruction, the fraction of the other images whose features
 *   correlate with it less than its own image's do, averaged.
 */

export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let [ma, mb] = [0, 0];
  for (let i = 0; i < n; i++) {
    ma += a[i]! / n;
    mb += b[i]! / n;
  }
  let [sab, saa, sbb] = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const [da, db] = [a[i]! - ma, b[i]! - mb];
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}

export const pixCorr = pearson;

const GRAY = [0.2125, 0.7154, 0.0721];

function grayscale(chw: ArrayLike<number>, side: number): Float64Array {
  const plane = side * side;
  return Float64Array.from({ length: plane }, (_, i) =>
    GRAY.reduce((s, w, c) => s + w * chw[c * plane + i]!, 0),
  );
}

const SIGMA = 1.5;
const RADIUS = Math.floor(3.5 * SIGMA + 0.5);
const WINDOW = (() => {
  const w = Array.from({ length: 2 * RADIUS + 1 }, (_, i) =>
    Math.exp(-((i - RADIUS) ** 2) / (2 * SIGMA ** 2)),
  );
  const total = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / total);
})();

/** scipy's "reflect" border: d c b a | a b c d | d c b a. */
function reflect(i: number, n: number): number {
  if (i < 0) return -i - 1;
  if (i >= n) return 2 * n - i - 1;
  return i;
}

/** Separable Gaussian filter of a side×side image. */
function blur(image: Float64Array, side: number): Float64Array {
  const rows = new Float64Array(image.length);
  const out = new Float64Array(image.length);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      let s = 0;
      for (let k = -RADIUS; k <= RADIUS; k++)
        s += WINDOW[k + RADIUS]! * image[y * side + reflect(x + k, side)]!;
      rows[y * side + x] = s;
    }
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      let s = 0;
      for (let k = -RADIUS; k <= RADIUS; k++)
        s += WINDOW[k + RADIUS]! * rows[reflect(y + k, side) * side + x]!;
      out[y * side + x] = s;
    }
  return out;
}

export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, side: number): number {
  const x = grayscale(a, side);
  const y = grayscale(b, side);
  const [c1, c2] = [0.01 ** 2, 0.03 ** 2];
  const mx = blur(x, side);
  const my = blur(y, side);
  const mxx = blur(
    x.map((v) => v * v),
    side,
  );
  const myy = blur(
    y.map((v) => v * v),
    side,
  );
  const mxy = blur(
    x.map((v, i) => v * y[i]!),
    side,
  );
  let total = 0;
  let count = 0;
  for (let r = RADIUS; r < side - RADIUS; r++)
    for (let c = RADIUS; c < side - RADIUS; c++) {
      const i = r * side + c;
      const vx = mxx[i]! - mx[i]! ** 2;
      const vy = myy[i]! - my[i]! ** 2;
      const cxy = mxy[i]! - mx[i]! * my[i]!;
      total +=
        ((2 * mx[i]! * my[i]! + c1) * (2 * cxy + c2)) / ((mx[i]! ** 2 + my[i]! ** 2 + c1) * (vx + vy + c2));
      count++;
    }
  return total / count;
}

/**
 * Two-way identification of each reconstruction's features against their images' (same order): the fraction
 * of the other images its own image beats.
 */
export function identificationPerTrial(recons: ArrayLike<number>[], truths: ArrayLike<number>[]): number[] {
  const n = recons.length;
  return recons.map((recon, j) => {
    const own = pearson(recon, truths[j]!);
    let beaten = 0;
    for (let i = 0; i < n; i++) if (i !== j && pearson(recon, truths[i]!) < own) beaten++;
    return beaten / (n - 1);
  });
}

/** Two-way identification of reconstructions' features against their images' (same order). */
export function twoWayIdentification(recons: ArrayLike<number>[], truths: ArrayLike<number>[]): number {
  const perTrial = identificationPerTrial(recons, truths);
  return perTrial.reduce((a, b) => a + b, 0) / perTrial.length;
}
