/**
 * How long `mindeye` takes to answer before it does any work: `--help` (imports only commander and the
 * command list), a lab command's help (its HTTP client), and `serve --help` (the whole service's modules),
 * against bare `node -e ""` started the same way. Median of RUNS runs each, wall clock and child CPU.
 */
import { spawnSync } from "node:child_process";
import os from "node:os";
import { fmt, machineLine } from "./harness.ts";

const RUNS = 7;
const CASES: [string, string[]][] = [
  ["node -e '' (baseline)", ["-e", ""]],
  ["mindeye --help", ["cli/bin/mindeye.mjs", "--help"]],
  ["mindeye upload --help", ["cli/bin/mindeye.mjs", "upload", "--help"]],
  ["mindeye serve --help", ["cli/bin/mindeye.mjs", "serve", "--help"]],
];

function once(args: string[]): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { stdio: "ignore" });
  if (result.status !== 0) throw new Error(`${args.join(" ")} exited ${result.status}`);
  return (performance.now() - started) / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(
  `machine: ${machineLine()}, load average ${os
    .loadavg()
    .map((l) => fmt(l, 1))
    .join(" ")}\n`,
);
console.log("| command | median wall s | vs bare node |\n|---|---|---|");
let baseline = 0;
for (const [name, args] of CASES) {
  once(args); // warm the transform cache and the page cache
  const wall = median(Array.from({ length: RUNS }, () => once(args)));
  if (baseline === 0) baseline = wall;
  console.log(`| ${name} | ${fmt(wall)} | ${fmt(wall / baseline, 1)}x |`);
}
