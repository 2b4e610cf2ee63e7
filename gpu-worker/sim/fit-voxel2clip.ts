/**
 * Fits sim01's voxel2clip on the training trials of every session: each session's ROI voxels scaled by
 * 1/300 and z-scored over the whole session (as the service prepares uploads), one row per training trial,
 * regressed onto the shown image's stand-in CLIP tokens. Every fifth row is held out to choose lambda.
 */
import { fitRidge, type Matrix, type RidgeFit } from "./ridge.ts";
import { EMBEDDING_VALUES, RIDGE_RELATIVE_LAMBDAS } from "./sim01-spec.ts";
import { preparedVoxels } from "./voxel-matrix.ts";
import type { World } from "./world.ts";

const VALIDATION_EVERY = 5;
/** Every fourth output column is scored in the lambda search (all tokens, a quarter of their dims). */
const SCORED_EVERY = 4;

export function trainingSet(world: World): { x: Matrix; y: Matrix } {
  const voxels = world.subject.roiFileOffsets.length;
  const test = new Set(world.design.testStimuli);
  const rows = world.design.sessions.reduce(
    (n, session) => n + session.stimuli.filter((s) => !test.has(s)).length,
    0,
  );
  const x = new Float32Array(rows * voxels);
  const y = new Float32Array(rows * EMBEDDING_VALUES);
  let row = 0;
  for (const [i, session] of world.design.sessions.entries()) {
    // Z-scored over the whole session, test trials included, as the service z-scores an uploaded session.
    const prepared = preparedVoxels(world.sessionBetas[i]!, world.subject.roiFileOffsets).data;
    for (const [t, stimulus] of session.stimuli.entries()) {
      if (test.has(stimulus)) continue;
      x.set(prepared.subarray(t * voxels, (t + 1) * voxels), row * voxels);
      y.set(
        world.embeddings.subarray(stimulus * EMBEDDING_VALUES, (stimulus + 1) * EMBEDDING_VALUES),
        row++ * EMBEDDING_VALUES,
      );
    }
  }
  return { x: { data: x, rows, cols: voxels }, y: { data: y, rows, cols: EMBEDDING_VALUES } };
}

export function fitVoxel2clip(world: World, log: (message: string) => void): RidgeFit {
  const { x, y } = trainingSet(world);
  log(`fitting ridge: ${x.rows} training trials x ${x.cols} voxels -> ${y.cols} outputs`);
  return fitRidge(x, y, {
    relativeLambdas: RIDGE_RELATIVE_LAMBDAS,
    validationRows: Array.from(
      { length: Math.floor(x.rows / VALIDATION_EVERY) },
      (_, i) => i * VALIDATION_EVERY,
    ),
    scoredColumns: Array.from({ length: y.cols / SCORED_EVERY }, (_, i) => i * SCORED_EVERY),
    onLambda: (relative, r2) =>
      log(`ridge lambda ${relative} x mean eigenvalue: validation R^2 ${r2.toFixed(4)}`),
  });
}
