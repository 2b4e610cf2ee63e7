import { Presets, SingleBar } from "cli-progress";

/**
 * A bar on stderr. On a terminal it redraws in place; redirected to a file or pipe it writes a line now and
 * then and the final state, so logs show how far it got.
 */
export function progressBar(format: string): SingleBar {
  return new SingleBar(
    { format, noTTYOutput: true, notTTYSchedule: 2000, hideCursor: true, etaBuffer: 20 },
    Presets.shades_classic,
  );
}

/** Bytes as a person reads them: 1.5 MiB. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}
