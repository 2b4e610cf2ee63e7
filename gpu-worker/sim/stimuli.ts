/**
 * Procedural stimulus images: a background (flat, gradient or grating) and one to four shapes (ellipses,
 * rotated rectangles, triangles, rings) of random colour, size, position and rotation. Continuous
 * parameters make near-duplicates rare. Pixels are uint8 RGB, row-major (HWC), as the PNGs store them.
 */
import type { Prng } from "./prng.ts";
import { IMAGE_SIZE } from "./sim01-spec.ts";

type Rgb = [number, number, number];
/** Whether the pixel centre (x, y) lies inside a shape. */
type Inside = (x: number, y: number) => boolean;

function colour(rng: Prng): Rgb {
  return [rng.int(0, 256), rng.int(0, 256), rng.int(0, 256)];
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

function background(rng: Prng): (x: number, y: number) => Rgb {
  const a = colour(rng);
  const b = colour(rng);
  const angle = rng.uniform(0, Math.PI);
  const [dx, dy] = [Math.cos(angle), Math.sin(angle)];
  switch (rng.pick(["flat", "gradient", "grating"] as const)) {
    case "flat":
      return () => a;
    case "gradient":
      return (x, y) => mix(a, b, Math.min(1, Math.max(0, 0.5 + ((x - 32) * dx + (y - 32) * dy) / 64)));
    case "grating": {
      const period = rng.uniform(6, 24);
      const phase = rng.uniform(0, 2 * Math.PI);
      return (x, y) => mix(a, b, 0.5 + 0.5 * Math.sin((2 * Math.PI * (x * dx + y * dy)) / period + phase));
    }
  }
}

/** Coordinates relative to (cx, cy), rotated by -angle. */
function frame(cx: number, cy: number, angle: number) {
  const [c, s] = [Math.cos(angle), Math.sin(angle)];
  return (x: number, y: number): [number, number] => [
    (x - cx) * c + (y - cy) * s,
    -(x - cx) * s + (y - cy) * c,
  ];
}

function shape(rng: Prng): Inside {
  const size = rng.uniform(5, 18);
  const cx = rng.uniform(4, IMAGE_SIZE - 4);
  const cy = rng.uniform(4, IMAGE_SIZE - 4);
  const local = frame(cx, cy, rng.uniform(0, Math.PI));
  const aspect = rng.uniform(0.4, 1);
  switch (rng.pick(["ellipse", "rectangle", "triangle", "ring"] as const)) {
    case "ellipse":
      return (x, y) => {
        const [u, v] = local(x, y);
        return (u / size) ** 2 + (v / (size * aspect)) ** 2 <= 1;
      };
    case "rectangle":
      return (x, y) => {
        const [u, v] = local(x, y);
        return Math.abs(u) <= size && Math.abs(v) <= size * aspect;
      };
    case "triangle":
      // Equilateral-ish: inside three half-planes around the centre.
      return (x, y) => {
        const [u, v] = local(x, y);
        return [0, 1, 2].every((k) => {
          const a = (2 * Math.PI * k) / 3;
          return u * Math.cos(a) + v * Math.sin(a) <= size * 0.5;
        });
      };
    case "ring": {
      const inner = rng.uniform(0.4, 0.8);
      return (x, y) => {
        const [u, v] = local(x, y);
        const r = Math.hypot(u, v);
        return r <= size && r >= size * inner;
      };
    }
  }
}

/** One stimulus image: uint8 RGB, IMAGE_SIZE x IMAGE_SIZE, row-major with channels last. */
export function renderStimulus(rng: Prng): Uint8Array {
  const paint = background(rng);
  const shapes = Array.from({ length: rng.int(1, 5) }, () => ({ inside: shape(rng), rgb: colour(rng) }));
  const pixels = new Uint8Array(IMAGE_SIZE * IMAGE_SIZE * 3);
  for (let y = 0; y < IMAGE_SIZE; y++) {
    for (let x = 0; x < IMAGE_SIZE; x++) {
      let rgb = paint(x + 0.5, y + 0.5);
      // Later shapes are drawn over earlier ones.
      for (const s of shapes) if (s.inside(x + 0.5, y + 0.5)) rgb = s.rgb;
      const at = (y * IMAGE_SIZE + x) * 3;
      for (let c = 0; c < 3; c++) pixels[at + c] = Math.round(rgb[c]!);
    }
  }
  return pixels;
}

export function stimulusId(index: number): string {
  return `s${String(index).padStart(4, "0")}`;
}
