/**
 * Runs generateSim01 in a worker thread, so the process that asked (the API server) keeps answering while
 * the world is built and the ridge fitted. Aborting terminates the thread at once, mid-computation; the
 * half-written files carry no completion marker, so the next start generates again.
 */
import { Worker } from "node:worker_threads";

type WorkerMessage = { log: string } | { done: true };

export function generateOffThread(
  dataDir: string,
  info: (message: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  signal?.throwIfAborted();
  const worker = new Worker(new URL("./generation-worker.mjs", import.meta.url), {
    workerData: { dataDir, entry: new URL("./generation-worker-entry.ts", import.meta.url).href },
  });
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const abort = () => {
      void worker.terminate();
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", abort, { once: true });
    worker.on("message", (message: WorkerMessage) => {
      if ("log" in message) info(message.log);
      else done = true;
    });
    worker.on("error", reject);
    worker.on("exit", (code) => {
      signal?.removeEventListener("abort", abort);
      if (done) resolve();
      else reject(new Error(`sim01 generation stopped before it finished (worker exit code ${code})`));
    });
  });
}
