/** What a sampling loop tells its caller and asks it: progress after each step, cancellation before each. */
export interface StepHooks {
  /** Called after step `step` (1-based) of `steps` is done. */
  onStep?: (step: number, steps: number) => void;
  /** Checked before every step; an aborted signal stops the loop with its reason. */
  signal?: AbortSignal;
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  signal?.throwIfAborted();
}
