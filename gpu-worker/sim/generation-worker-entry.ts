/** Inside the worker thread: generate, reporting progress and completion to the thread that started it. */
import { parentPort, workerData } from "node:worker_threads";
import { generateSim01 } from "./generate-sim01.ts";

const { dataDir } = workerData as { dataDir: string };
await generateSim01(dataDir, (message) => parentPort!.postMessage({ log: message }));
parentPort!.postMessage({ done: true });
