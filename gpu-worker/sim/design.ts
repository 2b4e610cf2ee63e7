/**
 * NSD's design at a smaller scale: a fixed set of test images shown TEST_REPEATS times each, every other
 * image shown once. Training images fill the training sessions; the test images' trials (all repeats of an
 * image within the same session) fill the held-out sessions, which are what a lab would send for decoding.
 */
import type { Prng } from "./prng.ts";
import { STIMULI, TEST_REPEATS, TEST_STIMULI, TRIALS_PER_SESSION } from "./sim01-spec.ts";

export interface Session {
  /** 1-based, as NSD numbers sessions (betas_session01 ...). */
  number: number;
  heldOut: boolean;
  /** Stimulus index shown on each trial, in trial order. */
  stimuli: number[];
}

export interface Design {
  testStimuli: number[];
  sessions: Session[];
}

export function makeDesign(rng: Prng): Design {
  const order = rng.shuffle(Array.from({ length: STIMULI }, (_, i) => i));
  const testStimuli = order.slice(0, TEST_STIMULI).sort((a, b) => a - b);
  const train = order.slice(TEST_STIMULI);
  const sessions: Session[] = [];
  for (let start = 0; start < train.length; start += TRIALS_PER_SESSION) {
    sessions.push({
      number: sessions.length + 1,
      heldOut: false,
      stimuli: train.slice(start, start + TRIALS_PER_SESSION),
    });
  }
  const imagesPerHeldOut = TRIALS_PER_SESSION / TEST_REPEATS;
  const shuffledTest = rng.shuffle([...testStimuli]);
  for (let start = 0; start < shuffledTest.length; start += imagesPerHeldOut) {
    const images = shuffledTest.slice(start, start + imagesPerHeldOut);
    const trials = rng.shuffle(images.flatMap((s) => Array<number>(TEST_REPEATS).fill(s)));
    sessions.push({ number: sessions.length + 1, heldOut: true, stimuli: trials });
  }
  return { testStimuli, sessions };
}

/** Trial indices of each distinct stimulus of a session, in order of first appearance (its repeats). */
export function repeatGroups(
  stimuli: readonly (number | string)[],
): { stimulus: number | string; trials: number[] }[] {
  const groups = new Map<number | string, number[]>();
  stimuli.forEach((s, t) => {
    const group = groups.get(s) ?? [];
    group.push(t);
    groups.set(s, group);
  });
  return [...groups].map(([stimulus, trials]) => ({ stimulus, trials }));
}
