/**
 * The reconstruction's only source of randomness: one seeded stream of standard normal float32 values.
 *
 * Uniforms come from xoshiro128** (period 2^128 − 1; its state seeded from the 32-bit seed by splitmix32),
 * normals from Marsaglia's polar method on pairs of them (no trigonometry: 1.7x faster than Box–Muller
 * here). Everything is integer arithmetic or V8's deterministic Math.log/sqrt, so the same seed gives the
 * same values bit for bit on the same machine and Node version.
 *
 * One stream is consumed in MindEye's order (reference §1.3; samplers/README.md): the caller asks for each
 * tensor in turn and nothing else draws from it. A spare normal left by an odd-sized draw is the first
 * value of the next draw.
 */

/** Where a sampler's noise comes from: the generator, or in a test a chosen sequence of tensors. */
export interface NoiseSource {
  /** Fills `out` with the next `out.length` values of the stream and returns it. */
  fill(out: Float32Array): Float32Array;
}

export class GaussianGenerator implements NoiseSource {
  private readonly state = new Uint32Array(4);
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
      this.state[i] = (m ^ (m >>> 16)) >>> 0;
    }
  }

  fill(out: Float32Array): Float32Array {
    let i = 0;
    if (out.length > 0 && this.spare !== null) {
      out[i++] = this.spare;
      this.spare = null;
    }
    // The xoshiro state lives in locals for the loop (the hot path of a 3M-value prior draw).
    let s0 = this.state[0]!;
    let s1 = this.state[1]!;
    let s2 = this.state[2]!;
    let s3 = this.state[3]!;
    const next = () => {
      const times5 = Math.imul(s1, 5);
      const result = Math.imul((times5 << 7) | (times5 >>> 25), 9) >>> 0;
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      return result / 2147483648 - 1; // uniform in [−1, 1)
    };
    while (i < out.length) {
      let u: number;
      let v: number;
      let q: number;
      do {
        u = next();
        v = next();
        q = u * u + v * v;
      } while (q >= 1 || q === 0);
      const scale = Math.sqrt((-2 * Math.log(q)) / q);
      out[i++] = u * scale;
      if (i < out.length) out[i++] = v * scale;
      else this.spare = Math.fround(v * scale);
    }
    this.state[0] = s0;
    this.state[1] = s1;
    this.state[2] = s2;
    this.state[3] = s3;
    return out;
  }
}
