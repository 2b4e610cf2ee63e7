import { readFileSync } from "node:fs";
import path from "node:path";

/** Real third-party files; CI lays shared/ beside the clone, as on a developer's machine. */
export const FORMATS_DIR = path.resolve("..", "shared", "fixtures", "formats");

export interface GroundTruth {
  kind: string;
  shape?: number[];
  dtype?: string;
  scaled?: { sum: number; mean: number; min: number; max: number; nan_count: number };
  [key: string]: unknown;
}

export const groundTruth = (): Record<string, GroundTruth> =>
  JSON.parse(readFileSync(path.join(FORMATS_DIR, "ground_truth.json"), "utf8"));
