/**
 * The reconstruction's only source of randomness: one seeded stream of standard normal float32 values.
 *
 * Uniforms come from xoshiro128** (2^128 - 1 period; state seeded from the 32-bit seed by splitmix32), and
 * pairs of normals from Box–Muller on two 32-bit uniforms (u1 in (0, 1], so the radius is finite: draws
 * are bounded by |z| <= 6.66). Every operation is integer arithmetic or V8's deterministic Math.log/cos/sin,
 * so the same seed gives the same values bit for bit on the same machine and Node version.
 *
 * One stream is consumed in MindEye's order (reference §1.3): the caller asks for each tensor in turn and
 * nothing else draws from it. A spare normal left by an odd-sized draw is the first value of the next draw.
 */
/** Where a sampler's noise comes from: the generator, or in a test a chosen sequence of tensors. */
export interface NoiseSource {
  /** Fills `out` with the next `out.length` values of the stream and returns it. */
  fill(out: Float32Array): Float32Array;
}

export class GaussianGenerator implements NoiseSource {
  private readonly s = new Uint32Array(4);
  private spare: number | null = null;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    let z = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      // splitmix32: decorrelates nearby seeds and never yields the all-zero xoshiro state.
      z = (z + 0x9e3779b9) >>> 0;
      let m = z;
      m = Math.imul(m ^ (m >>> 16), 0x85ebca6b);
      m = Math.imul(m ^ (m >>> 13), 0xc2b2ae35);
      this.s[i] = (m ^ (m >>> 16)) >>> 0;
    }
  }

  /** xoshiro128**: the next 32 uniform bits as an unsigned integer. */
  private nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Fills `out` with the next `out.length` standard normals of the stream and returns it. */
  fill(out: Float32Array): Float32Array {
    let i = 0;
    if (out.length > 0 && this.spare !== null) {
      out[i++] = this.spare;
      this.spare = null;
    }
    while (i < out.length) {
      const u1 = (this.nextUint32() + 1) / 4294967296;
      const angle = (2 * Math.PI * this.nextUint32()) / 4294967296;
      const radius = Math.sqrt(-2 * Math.log(u1));
      out[i++] = radius * Math.cos(angle);
      const second = radius * Math.sin(angle);
      if (i < out.length) out[i++] = second;
      else this.spare = Math.fround(second);
    }
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
