import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Real third-party files, in the project's shared/ folder laid beside the clone (CI always has it). */
export const SHARED_FIXTURES = fileURLToPath(new URL("../../../shared/fixtures/", import.meta.url));
export const FORMATS_DIR = path.join(SHARED_FIXTURES, "formats");

/**
 * A fresh clone has no ../shared, so the suites that read it skip there and say so in their names. In CI the
 * folder is always laid, and a missing one fails the suites instead of skipping them.
 */
export const sharedFixturesMissing = !existsSync(SHARED_FIXTURES) && !process.env["CI"];

/** A suite's title, with the reason it skips when the shared fixtures are missing. */
export const needsSharedFixtures = (title: string): string =>
  sharedFixturesMissing
    ? `${title} (SKIPPED: ${SHARED_FIXTURES} is missing; lay the project's shared/ folder beside the clone)`
    : title;

export interface GroundTruth {
  kind: string;
  shape?: number[];
  dtype?: string;
  scaled?: { sum: number; mean: number; min: number; max: number; nan_count: number };
  [key: string]: unknown;
}

/** What nibabel, h5py and numpy report for each file; empty when the suites that use it are skipped. */
export const groundTruth = (): Record<string, GroundTruth> =>
  sharedFixturesMissing ? {} : JSON.parse(readFileSync(path.join(FORMATS_DIR, "ground_truth.json"), "utf8"));
