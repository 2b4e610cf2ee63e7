// Worker-thread entry for generate-off-thread.ts: a worker does not inherit tsx's loader, so it registers
// it before importing the TypeScript entry.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.entry);
