import type { Database } from "../db/database.ts";
import type { Log } from "./log.ts";

export interface ClaimLoopOptions<T> {
  db: Database;
  /** NOTIFY channel that announces new work; polling every `pollMs` is the fallback. */
  channel: string;
  pollMs: number;
  concurrency: number;
  /** Claims at most `free` items (a lease in the database). */
  claim(free: number): Promise<T[]>;
  /** Handles one claimed item; its errors are logged, never thrown out of the loop. */
  handle(item: T): Promise<void>;
  log: Log;
}

export interface ClaimLoop {
  /** Stops claiming; resolves once the loop is out (items in hand keep running). */
  stop(): Promise<void>;
  /** Resolves when every item in hand has been handled. */
  settled(): Promise<void>;
}

/**
 * The loop shared by job workers and webhook dispatchers: claim while there are free slots, then sleep
 * until a NOTIFY, a finished item or the poll interval wakes it.
 */
export async function startClaimLoop<T>(options: ClaimLoopOptions<T>): Promise<ClaimLoop> {
  const { concurrency, pollMs, log } = options;
  const inHand = new Set<Promise<void>>();
  let stopping = false;
  // Set by a wake-up that arrives while claiming, so it is not lost before the next sleep.
  let woken = false;
  let interruptSleep = () => {};
  const wake = () => {
    woken = true;
    interruptSleep();
  };

  async function claimOnce(): Promise<number> {
    const free = concurrency - inHand.size;
    if (free <= 0) return 0;
    const items = await options.claim(free);
    for (const item of items) {
      const handled = options
        .handle(item)
        .catch((error) => log.error({ err: error }, "handling a claimed item failed"))
        .finally(() => {
          inHand.delete(handled);
          wake();
        });
      inHand.add(handled);
    }
    return items.length;
  }

  async function loop(): Promise<void> {
    while (!stopping) {
      woken = false;
      let claimed = 0;
      try {
        claimed = await claimOnce();
      } catch (error) {
        log.error({ err: error, channel: options.channel }, "claiming failed");
      }
      if (stopping) break;
      if ((claimed > 0 && inHand.size < concurrency) || woken) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        interruptSleep = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      interruptSleep = () => {};
    }
  }

  const unlisten = await options.db.listen(options.channel, wake);
  const looping = loop();
  return {
    async stop() {
      stopping = true;
      interruptSleep();
      await looping;
      await unlisten();
    },
    async settled() {
      await Promise.all([...inHand]);
    },
  };
}
