/**
 * diffusers 0.13.0 UniPC `set_timesteps` (reference §3.3): numpy's linspace(0, T−1, n+1) rounded half to
 * even (numpy `round`), reversed, the final 0 dropped. n = 20 gives 999, 949, …, 549, 500, 450, …, 50.
 */
export function unipcTimesteps(steps: number, trainTimesteps = 1000): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > trainTimesteps) {
    throw new RangeError(`steps must be an integer in [1, ${trainTimesteps}], got ${steps}`);
  }
  const spacing = (trainTimesteps - 1) / steps;
  const points: number[] = [];
  for (let i = 0; i <= steps; i++) points.push(i === steps ? trainTimesteps - 1 : roundHalfEven(i * spacing));
  return points.reverse().slice(0, steps);
}

/** Ties go to the even neighbour (JS Math.round sends them up: 166.5 -> 167, numpy gives 166). */
export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction < 0.5) return floor;
  if (fraction > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * img2img's start (reference §3.4; diffusers `get_timesteps`): with strength s, the loop runs the last
 * min(⌊n·s⌋, n) of the n timesteps and the init is noised to the first of them. n = 20, s = 0.85: 17 steps
 * from t = 849 (index 3 of the full array, which the scheduler keeps indexing).
 */
export function img2imgStart(steps: number, strength: number): number {
  if (!(strength > 0 && strength <= 1)) throw new RangeError(`strength must be in (0, 1], got ${strength}`);
  const initSteps = Math.min(Math.floor(steps * strength), steps);
  return Math.max(steps - initSteps, 0);
}
