/**
 * Fits sim01's voxel2clip on the training sessions: each session's ROI voxels scaled by 1/300 and z-scored
 * over the session (as the service prepares uploads), one row per trial, regressed onto the shown image's
 * stand-in CLIP tokens. Every fifth trial is held out to choose lambda.
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
  const sessions = world.design.sessions
    .map((session, i) => ({ session, betas: world.sessionBetas[i]! }))
    .filter(({ session }) => !session.heldOut);
  const rows = sessions.reduce((n, { session }) => n + session.stimuli.length, 0);
  const x = new Float32Array(rows * voxels);
  const y = new Float32Array(rows * EMBEDDING_VALUES);
  let row = 0;
  for (const { session, betas } of sessions) {
    x.set(preparedVoxels(betas, world.subject.roiFileOffsets).data, row * voxels);
    for (const stimulus of session.stimuli) {
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
