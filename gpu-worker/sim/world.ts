/**
 * Builds sim01's whole world in memory from the seed: stimulus images, their stand-in CLIP embeddings, the
 * subject, the design, every session's int16 betas, and the rotation between the model's backbone and
 * retrieval spaces. Each part draws from its own forked generator.
 */
import { randomRotation } from "./backbone-space.ts";
import { type Design, makeDesign } from "./design.ts";
import { type EncoderWeights, encodeImage, encoderWeights, imageTensor } from "./encoder.ts";
import { Prng } from "./prng.ts";
import { EMBEDDING_VALUES, SEED, STIMULI } from "./sim01-spec.ts";
import { renderStimulus } from "./stimuli.ts";
import { makeSubject, type Subject, simulateSession, voxelSignal } from "./subject.ts";

export interface World {
  /** uint8 RGB HWC, one per stimulus. */
  pixels: Uint8Array[];
  encoder: EncoderWeights;
  /** [STIMULI, TOKENS, TOKEN_DIM] stand-in CLIP embeddings. */
  embeddings: Float32Array;
  subject: Subject;
  design: Design;
  /** int16 [trials, Z, Y, X] per design session, same order. */
  sessionBetas: Int16Array[];
  /** [EMBEDDING_VALUES, EMBEDDING_VALUES] rotation from the stand-in CLIP space to the backbone space. */
  backboneRotation: Float64Array;
}

export function buildWorld(log: (message: string) => void = () => {}): World {
  const root = new Prng(SEED);
  const stimulusRng = root.fork("stimuli");
  const pixels = Array.from({ length: STIMULI }, () => renderStimulus(stimulusRng));
  log(`drew ${STIMULI} stimuli`);

  const encoder = encoderWeights(root.fork("encoder"));
  const embeddings = new Float32Array(STIMULI * EMBEDDING_VALUES);
  for (const [s, p] of pixels.entries())
    embeddings.set(encodeImage(encoder, imageTensor(p)), s * EMBEDDING_VALUES);
  log("encoded the stimuli");

  const subject = makeSubject(root.fork("subject"), embeddings, STIMULI);
  const signals = Array.from({ length: STIMULI }, (_, s) =>
    voxelSignal(subject.tuning, embeddings.subarray(s * EMBEDDING_VALUES, (s + 1) * EMBEDDING_VALUES)),
  );
  const design = makeDesign(root.fork("design"));
  const sessionBetas = design.sessions.map((session) =>
    simulateSession(subject, root.fork(`session-${session.number}`), session.stimuli, signals),
  );
  log(`simulated ${design.sessions.length} sessions, ${subject.roiFileOffsets.length} ROI voxels`);
  const backboneRotation = randomRotation(root.fork("backbone"), EMBEDDING_VALUES);
  return { pixels, encoder, embeddings, subject, design, sessionBetas, backboneRotation };
}
