export type { AxisRole, LayoutName, LayoutRequest } from "./array-layout.ts";
export type { BetaFile, BetaFileInfo, BetaFormat, BetaLimits, TrialBlock } from "./beta-file.ts";
export { DEFAULT_BETA_LIMITS, infoOf } from "./beta-file.ts";
export { inMemoryBetaFile } from "./in-memory.ts";
export type { BetaMatrix, InputSpace } from "./input-space.ts";
export { assertFinite, extractMaskedVoxels, maskIndices } from "./input-space.ts";
export { decodeNpyBody } from "./npy.ts";
export { type OpenBetaFileOptions, openBetaFile } from "./open-beta-file.ts";
export type { PreprocessingApplied, PreprocessingRequest, ZscoreApplied } from "./preprocess.ts";
export {
  averageApplied,
  averageRows,
  checkAverageGroups,
  NSD_INT16_SCALE,
  normalizeSession,
  preprocessBetas,
} from "./preprocess.ts";
export { iterateTrials } from "./read-trials.ts";
export { type SessionStatistics, sessionStatistics } from "./session-statistics.ts";
export { type BetaSummary, summarizeBetas } from "./summarize.ts";
