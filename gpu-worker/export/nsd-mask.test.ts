/**
 * The exporter takes NSD's own mask file: nsdgeneral.nii.gz holds -1 outside the brain, 0 in the brain
 * outside the ROI and 1 in the ROI, so its voxels are `mask > 0` (as the runtime reads masks), not `!= 0`.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PYTHON, runExporter } from "../bundles/python-exporter.ts";
import { ModelServer } from "../runtime/model-server.ts";

const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "nsd-mask-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("exporter --mask with an nsdgeneral-style NIfTI", () => {
  it("counts the voxels > 0 and ships a mask the runtime reads to the same voxels", async () => {
    const mask = join(dir, "nsdgeneral.nii.gz");
    // 4x5x6 grid (the tiny config's 40 voxels): -1 outside an ellipsoid "brain", 1 on 40 brain voxels, 0 elsewhere.
    const { stdout } = await run(PYTHON, [
      "-c",
      `import sys, json, numpy as np, nibabel as nib
x, y, z = np.meshgrid(*(np.linspace(-1, 1, n) for n in (4, 5, 6)), indexing="ij")
data = np.where(x**2 + y**2 + z**2 <= 1.5, 0, -1).astype(np.int16)
brain = np.flatnonzero(data.ravel() == 0)
data.flat[np.random.default_rng(0).choice(brain, 40, replace=False)] = 1
nib.save(nib.Nifti1Image(data, np.eye(4)), sys.argv[1])
print(json.dumps({"outside": int((data == -1).sum()), "roi": np.flatnonzero(data.ravel() > 0).tolist()}))`,
      mask,
    ]);
    const written = JSON.parse(stdout) as { outside: number; roi: number[] };
    expect(written.outside).toBeGreaterThan(0);

    const out = join(dir, "bundle");
    const args = ["--family", "mindeye1", "--subject", "1", "--config", "tiny", "--random-init"];
    await runExporter("export.py", [...args, "--mask", mask, "--out", out]);
    const server = await ModelServer.open({
      bundleDirs: [out],
      providers: ["cpu"],
      batch: { maxBatchRows: 4, maxDelayMs: 1, maxQueue: 8 },
      log: pino({ level: "silent" }),
    });
    try {
      const [model] = await server.listModels();
      expect(model).toMatchObject({ input: { voxels: 40, grid: [4, 5, 6] } });
      const runtimeMask = (await server.getMask(model!.id))!;
      const selected = Array.from(runtimeMask).flatMap((v, i) => (v > 0 ? [i] : []));
      expect(selected).toEqual(written.roi);
    } finally {
      await server.close();
    }
  }, 180_000);
});
