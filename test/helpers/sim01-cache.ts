import { mkdir, rmdir, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { VectorStore } from "../../core/search/vector-index.ts";
import { ensureSim01, type Sim01 } from "../../gpu-worker/sim/ensure-sim01.ts";
import { GENERATOR_VERSION } from "../../gpu-worker/sim/sim01-spec.ts";

/** One generated sim01 per machine and generator version, shared by the test files that need it. */
export const SIM01_CACHE = path.join(os.tmpdir(), `mindeye-sim01-cache-v${GENERATOR_VERSION}`);
const LOCK = `${SIM01_CACHE}.lock`;
const STALE_LOCK_MS = 10 * 60_000;

/**
 * The shared sim01 files, generated on first use. Test files run in parallel workers, so generation is
 * serialised by a lock folder (mkdir is atomic); a lock older than any generation is taken over.
 */
export async function sharedSim01(vectorStore?: VectorStore): Promise<Sim01 & { dataDir: string }> {
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch {
      const held = await stat(LOCK).catch(() => null);
      if (held && Date.now() - held.mtimeMs > STALE_LOCK_MS) await rmdir(LOCK).catch(() => {});
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return { ...(await ensureSim01(SIM01_CACHE, { vectorStore })), dataDir: SIM01_CACHE };
  } finally {
    await rmdir(LOCK).catch(() => {});
  }
}
