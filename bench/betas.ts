/**
 * Reading one NSD session (750 trials, 81x104x83 grid, nsdgeneral-like mask of 15724 voxels) into the
 * z-scored [trials, voxels] matrix the models take, from .nii.gz, NSD-layout HDF5 and masked NPY.
 * The baseline, measured in the same run, is fs.readFile of the same bytes (+ gunzip for .nii.gz).
 * Baseline and reader alternate `repeats` times and the fastest of each is kept, since on a shared
 * machine other work only ever adds time; process CPU time (zlib's thread pool included) is shown too.
 * `--before DIR` also measures the core/ in DIR (another commit's: `git archive main core | tar -x -C DIR`),
 * alternating with this tree's, and checks both give the same values; `--only NAME` keeps the files
 * whose name contains NAME. The masked NPY row is followed by what its steps cost alone.
 * Run: npx tsx bench/betas.ts [trials] [repeats] [--before DIR] [--only NAME]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import { gunzip } from "node:zlib";
import { voxelOffsets } from "../core/betas/array-layout.ts";
import * as current from "../core/betas/index.ts";
import { hasDebianPython, writeNsdLikeFiles } from "../core/betas/testing.ts";
import { transpose } from "../core/betas/transpose.ts";
import { zscoreRows } from "../core/betas/zscore.ts";
import { fmt, machineLine } from "./harness.ts";

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: { before: { type: "string" }, only: { type: "string" } },
});
const trials = Number(positionals[0] ?? 750);
const repeats = Number(positionals[1] ?? 3);
if (!hasDebianPython()) throw new Error("bench/betas.ts needs /usr/bin/python3 with nibabel, h5py and numpy");
type Readers = Pick<typeof current, "openBetaFile" | "extractMaskedVoxels" | "preprocessBetas">;
const before: Readers | null = options.before
  ? await import(resolve(options.before, "core/betas/index.ts"))
  : null;

const dir = mkdtempSync(join(tmpdir(), "bench-betas-"));
try {
  console.log(`writing a ${trials}-trial NSD-like session with Debian's nibabel/h5py/numpy into ${dir} ...`);
  writeNsdLikeFiles(dir, trials, { bench: true });
  const maskBytes = readFileSync(join(dir, "mask.i16"));
  const mask = new Int16Array(
    maskBytes.buffer.slice(maskBytes.byteOffset, maskBytes.byteOffset + maskBytes.byteLength),
  );
  const space = { voxels: 15724, grid: [81, 104, 83] as [number, number, number], mask };

  type Run = { wall: number; cpu: number };
  /** Wall and process CPU seconds of one call. */
  const timed = async (fn: () => Promise<unknown> | unknown): Promise<Run> => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    await fn();
    const used = process.cpuUsage(cpu);
    return { wall: (performance.now() - started) / 1000, cpu: (used.user + used.system) / 1e6 };
  };
  const fastest = (runs: Run[]) => ({
    wall: Math.min(...runs.map((r) => r.wall)),
    cpu: Math.min(...runs.map((r) => r.cpu)),
  });
  const same = (a: Float32Array, b: Float32Array) =>
    a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

  const rows: string[] = [];
  let steps = "";
  const names = ["betas_session01.nii.gz", "betas_session01.hdf5", "masked_f32.npy"];
  for (const name of names.filter((n) => n.includes(options.only ?? ""))) {
    const path = join(dir, name);
    const megabytes = statSync(path).size / 2 ** 20;
    const versions = [
      ...(before ? [{ label: "before", readers: before }] : []),
      { label: "", readers: current },
    ];
    const runs = versions.map(() => ({
      masked: [] as Run[],
      whole: [] as Run[],
      values: [] as Float32Array[],
    }));
    const baselines: Run[] = [];
    for (let r = 0; r < repeats; r++) {
      baselines.push(
        await timed(async () => {
          const bytes = await readFile(path);
          if (name.endsWith(".gz")) await promisify(gunzip)(bytes);
        }),
      );
      for (const [v, { readers }] of versions.entries()) {
        for (const zscore of [false, true]) {
          (zscore ? runs[v]!.whole : runs[v]!.masked).push(
            await timed(async () => {
              const file = await readers.openBetaFile(path);
              const matrix = await readers.extractMaskedVoxels(file, space);
              const out = zscore
                ? readers.preprocessBetas(matrix, { scale: "auto", zscore: "session" }, file).data
                : matrix.data;
              await file.close();
              if (r === 0) runs[v]!.values.push(out);
            }),
          );
        }
      }
    }
    if (before && !runs[0]!.values.every((values, k) => same(values, runs[1]!.values[k]!)))
      throw new Error(`${name}: before and after give different values`);
    const base = fastest(baselines);
    const ratios = (pick: (run: (typeof runs)[number]) => Run[], field: keyof Run) =>
      runs.map((run) => `${fmt(fastest(pick(run))[field] / base[field])}x`).join(" → ");
    const ours = fastest(runs.at(-1)!.whole);
    rows.push(
      `| ${name} | ${fmt(megabytes, 1)} | ${fmt(ours.wall)} | ${fmt(megabytes / ours.wall, 1)} | ${fmt(base.wall, 3)} | ` +
        `${ratios((run) => run.masked, "wall")} | **${ratios((run) => run.whole, "wall")}** | ` +
        `${ratios((run) => run.whole, "cpu")} |`,
    );
    if (name.endsWith(".npy")) steps = await npySteps(path, runs.at(-1)!.values[0]!, base);
  }

  /** What each step of the masked NPY read costs alone on the same matrix, fastest of `repeats`, against readFile. */
  async function npySteps(path: string, matrix: Float32Array, baseline: Run): Promise<string> {
    const voxels = space.voxels;
    const byVoxel = transpose(matrix, trials, voxels);
    const stats = current.sessionStatistics(matrix, trials, voxels);
    const file = await current.openBetaFile(path);
    const offsets = voxelOffsets(file.storage);
    const step = {
      "open (sniff, header)": async () => (await current.openBetaFile(path)).close(),
      "gatherAllTrials (read into place, transpose)": () => file.gatherAllTrials!(offsets),
      "transpose [voxels, trials] → [trials, voxels]": () => transpose(byVoxel, voxels, trials),
      assertFinite: () => current.assertFinite(matrix, voxels, "bench"),
      sessionStatistics: () => current.sessionStatistics(matrix, trials, voxels),
      "zscoreRows (into a new array)": () =>
        zscoreRows(matrix, voxels, stats.mean, stats.std, new Float32Array(matrix.length)),
    };
    const times = Object.fromEntries(Object.keys(step).map((label) => [label, [] as Run[]]));
    for (let r = 0; r < repeats; r++)
      for (const [label, fn] of Object.entries(step)) times[label]!.push(await timed(fn));
    await file.close();
    return [
      "| masked NPY step, alone | s | vs readFile | CPU s | CPU vs readFile's |",
      "|---|---|---|---|---|",
      ...Object.entries(times).map(([label, runs]) => {
        const { wall, cpu } = fastest(runs);
        return `| ${label} | ${fmt(wall, 4)} | ${fmt(wall / baseline.wall)}x | ${fmt(cpu, 4)} | ${fmt(cpu / baseline.cpu)}x |`;
      }),
    ].join("\n");
  }

  const versus = before ? ` (before → after: ${options.before} → this tree)` : "";
  const table = [
    `Betas: read + mask + z-score of ${trials} trials x 15724 voxels (81x104x83 grid), fastest of ${repeats}${versus}. ${machineLine()}`,
    "",
    "| file | MB on disk | read+mask+z-score s | MB/s | baseline s (readFile, +gunzip) | read+mask vs baseline | read+mask+z-score vs baseline | CPU time vs baseline |",
    "|---|---|---|---|---|---|---|---|",
    ...rows,
    ...(steps ? ["", steps] : []),
  ].join("\n");
  console.log(`\n${table}\n`);
  mkdirSync(".mindeye/bench", { recursive: true });
  writeFileSync(".mindeye/bench/betas.md", `${table}\n`);
  console.log("written to .mindeye/bench/betas.md");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
