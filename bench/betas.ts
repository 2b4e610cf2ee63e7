/**
 * Reading one NSD session (750 trials, 81x104x83 grid, nsdgeneral-like mask of 15724 voxels) into the
 * z-scored [trials, voxels] matrix the models take, from .nii.gz, NSD-layout HDF5 and masked NPY.
 * The baseline, measured in the same run, is fs.readFile of the same bytes (+ gunzip for .nii.gz).
 * Baseline and reader alternate `repeats` times and the fastest of each is kept, since on a shared
 * machine other work only ever adds time; process CPU time (zlib's thread pool included) is shown too.
 * Run: npx tsx bench/betas.ts [trials] [repeats]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { extractMaskedVoxels, openBetaFile, preprocessBetas } from "../core/betas/index.ts";
import { hasDebianPython, writeNsdLikeFiles } from "../core/betas/testing.ts";
import { fmt, machineLine } from "./harness.ts";

const trials = Number(process.argv[2] ?? 750);
const repeats = Number(process.argv[3] ?? 3);
if (!hasDebianPython()) throw new Error("bench/betas.ts needs /usr/bin/python3 with nibabel, h5py and numpy");

const dir = mkdtempSync(join(tmpdir(), "bench-betas-"));
try {
  console.log(`writing a ${trials}-trial NSD-like session with Debian's nibabel/h5py/numpy into ${dir} ...`);
  writeNsdLikeFiles(dir, trials, { bench: true });
  const maskBytes = readFileSync(join(dir, "mask.i16"));
  const mask = new Int16Array(
    maskBytes.buffer.slice(maskBytes.byteOffset, maskBytes.byteOffset + maskBytes.byteLength),
  );
  const space = { voxels: 15724, grid: [81, 104, 83] as [number, number, number], mask };

  /** Wall and process CPU seconds of one call. */
  const timed = async (fn: () => Promise<unknown>) => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    await fn();
    const used = process.cpuUsage(cpu);
    return { wall: (performance.now() - started) / 1000, cpu: (used.user + used.system) / 1e6 };
  };
  type Run = { wall: number; cpu: number };
  const fastest = (runs: Run[]) => ({
    wall: Math.min(...runs.map((r) => r.wall)),
    cpu: Math.min(...runs.map((r) => r.cpu)),
  });

  const rows: string[] = [];
  for (const name of ["betas_session01.nii.gz", "betas_session01.hdf5", "masked_f32.npy"]) {
    const path = join(dir, name);
    const megabytes = statSync(path).size / 2 ** 20;
    const baselines: Run[] = [];
    const masked: Run[] = [];
    const whole: Run[] = [];
    for (let r = 0; r < repeats; r++) {
      baselines.push(
        await timed(async () => {
          const bytes = await readFile(path);
          if (name.endsWith(".gz")) await promisify(gunzip)(bytes);
        }),
      );
      for (const [runs, zscore] of [
        [masked, false],
        [whole, true],
      ] as const) {
        runs.push(
          await timed(async () => {
            const file = await openBetaFile(path);
            const matrix = await extractMaskedVoxels(file, space);
            if (zscore) preprocessBetas(matrix, { scale: "auto", zscore: "session" }, file);
            await file.close();
          }),
        );
      }
    }
    const [base, read, ours] = [fastest(baselines), fastest(masked), fastest(whole)];
    rows.push(
      `| ${name} | ${fmt(megabytes, 1)} | ${fmt(ours.wall)} | ${fmt(megabytes / ours.wall, 1)} | ${fmt(base.wall)} | ` +
        `${fmt(read.wall / base.wall)}x | **${fmt(ours.wall / base.wall)}x** | ${fmt(ours.cpu / base.cpu)}x |`,
    );
  }

  const table = [
    `Betas: read + mask + z-score of ${trials} trials x 15724 voxels (81x104x83 grid), fastest of ${repeats}. ${machineLine()}`,
    "",
    "| file | MB on disk | read+mask+z-score s | MB/s | baseline s (readFile, +gunzip) | read+mask vs baseline | read+mask+z-score vs baseline | CPU time vs baseline |",
    "|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
  console.log(`\n${table}\n`);
  mkdirSync(".mindeye/bench", { recursive: true });
  writeFileSync(".mindeye/bench/betas.md", `${table}\n`);
  console.log("written to .mindeye/bench/betas.md");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
