import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Debian's Python with nibabel, h5py and numpy writes the NSD-like files and numpy's answers. */
export const DEBIAN_PYTHON = "/usr/bin/python3";

export function hasDebianPython(): boolean {
  try {
    execFileSync(DEBIAN_PYTHON, ["-c", "import nibabel, h5py, numpy"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const GENERATOR = fileURLToPath(new URL("../../test/fixtures/betas/make_nsd_like.py", import.meta.url));

export function writeNsdLikeFiles(dir: string, trials: number, options: { bench?: boolean } = {}): void {
  execFileSync(DEBIAN_PYTHON, [GENERATOR, dir, String(trials), ...(options.bench ? ["--bench"] : [])], {
    stdio: ["ignore", "ignore", "inherit"],
  });
}

export function readFloat32(path: string): Float32Array {
  const bytes = readFileSync(path);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** Array.fromAsync is Node 22+; the service supports Node 20. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** mulberry32: a small seeded generator, so failures replay. */
export function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
