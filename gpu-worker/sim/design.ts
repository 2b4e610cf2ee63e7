/**
 * NSD's design at a smaller scale: a fixed set of test images, each shown TEST_REPEATS times in as many
 * different sessions; every other image shown once. Each session mixes test and training trials in random
 * order, so a lab selects a session's test trials and averages each image's repeats across sessions, with
 * every session z-scored over all of its own trials.
 */
import type { Prng } from "./prng.ts";
import { SESSIONS, STIMULI, TEST_REPEATS, TEST_STIMULI, TRIALS_PER_SESSION } from "./sim01-spec.ts";

export interface Session {
  /** 1-based, as NSD numbers sessions (betas_session01 ...). */
  number: number;
  /** Stimulus index shown on each trial, in trial order. */
  stimuli: number[];
}

export interface Design {
  testStimuli: number[];
  sessions: Session[];
}

export function makeDesign(rng: Prng): Design {
  if (
    TEST_REPEATS > SESSIONS ||
    STIMULI + TEST_STIMULI * (TEST_REPEATS - 1) !== SESSIONS * TRIALS_PER_SESSION
  )
    throw new Error("sim01 design: the trials do not fill the sessions");
  const order = rng.shuffle(Array.from({ length: STIMULI }, (_, i) => i));
  const testStimuli = order.slice(0, TEST_STIMULI).sort((a, b) => a - b);
  const train = order.slice(TEST_STIMULI);
  const trials: number[][] = Array.from({ length: SESSIONS }, () => []);
  // Test image j's repeats go to sessions 3j, 3j+1, 3j+2 (mod SESSIONS): distinct, and balanced over sessions.
  for (const [j, stimulus] of rng.shuffle([...testStimuli]).entries()) {
    for (let r = 0; r < TEST_REPEATS; r++) trials[(j * TEST_REPEATS + r) % SESSIONS]!.push(stimulus);
  }
  let next = 0;
  for (const session of trials) {
    while (session.length < TRIALS_PER_SESSION) session.push(train[next++]!);
  }
  return {
    testStimuli,
    sessions: trials.map((stimuli, s) => ({ number: s + 1, stimuli: rng.shuffle(stimuli) })),
  };
}

/** Row indices of each distinct stimulus of a list of trials, in order of first appearance (its repeats). */
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
