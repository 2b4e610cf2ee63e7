import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readNpy, writeNpy } from "../../core/npy/index.ts";
import { REPO_ROOT, runExporter } from "./python-exporter.ts";

const FIXTURES = join(REPO_ROOT, "test/fixtures/bundles");

interface DryRun {
  voxels: number;
  graphs: Record<
    string,
    { parameters: number; parts?: Record<string, number>; tensors: Record<string, number[]> }
  >;
}

async function dryRun(subject: number, family = "mindeye1"): Promise<DryRun> {
  const args = ["--family", family, "--subject", String(subject), "--config", "full", "--dry-run"];
  return JSON.parse(await runExporter("export.py", args)) as DryRun;
}

interface Comparison {
  equal: boolean;
  differences: string[];
  files: number;
  max_relative_error: number;
}

/** compare_bundles.py exits 1 when bundles differ; its JSON report is on stdout either way. */
async function compareBundles(committed: string, regenerated: string): Promise<Comparison> {
  try {
    return JSON.parse(await runExporter("compare_bundles.py", [committed, regenerated])) as Comparison;
  } catch (error) {
    const stdout = (error as { stdout?: string }).stdout;
    if (!stdout) throw error;
    return JSON.parse(stdout) as Comparison;
  }
}

describe("exporter", () => {
  it("counts the published MindEye1 widths for subject 1", async () => {
    const report = await dryRun(1);
    expect(report.voxels).toBe(15_724);
    expect(report.graphs.voxel2clip?.parts).toEqual({ backbone: 940_225_280, projector: 7_354_624 });
    expect(report.graphs.prior?.parameters).toBe(56_055_168);
    // the image decoder and best-of-N embedder (reconstruction reference §4)
    expect(report.graphs.unet?.parameters).toBe(859_520_964);
    expect((report as DryRun & { vae: unknown }).vae).toEqual({
      parameters: 83_653_863,
      parts: { encoder: 34_163_592, quant_conv: 72, post_quant_conv: 20, decoder: 49_490_179 },
    });
    expect(report.graphs.clip_image?.parameters).toBe(303_966_208);
    expect(report.graphs.clip_image?.parts).toEqual({
      vision_model: 303_179_776,
      visual_projection: 786_432,
    });
  });

  it("counts the 1x768 model's voxel2clip and its projector", async () => {
    const report = await dryRun(1, "mindeye1-1x768");
    expect(Object.keys(report.graphs)).toEqual(["voxel2clip"]);
    expect(report.graphs.voxel2clip?.parameters).toBe(142_076_928);
    expect(report.graphs.voxel2clip?.parts).toEqual({ backbone: 134_722_304, projector: 7_354_624 });
    expect(report.graphs.voxel2clip?.tensors["lin1.weight"]).toEqual([768, 4096]);
  });

  it("changes only the voxel layers for subjects 2, 5 and 7", async () => {
    const base = await dryRun(1);
    for (const [subject, voxels] of [
      [2, 14_278],
      [5, 13_039],
      [7, 12_682],
    ] as const) {
      const other = await dryRun(subject);
      expect(other.voxels).toBe(voxels);
      for (const [graph, entry] of Object.entries(base.graphs)) {
        const changed = Object.keys(entry.tensors).filter(
          (key) => JSON.stringify(entry.tensors[key]) !== JSON.stringify(other.graphs[graph]?.tensors[key]),
        );
        // only the voxel layers read the subject's voxels; the prior and the image decoder are shared
        const firstLayer = graph === "voxel2clip" || graph === "lowlevel" ? ["lin0.0.weight"] : [];
        expect(changed, `${graph}, subject ${subject}`).toEqual(firstLayer);
        expect(Object.keys(other.graphs[graph]!.tensors)).toEqual(Object.keys(entry.tensors));
      }
      expect(other.graphs.voxel2clip?.tensors["lin0.0.weight"]).toEqual([4096, voxels]);
      expect(base.graphs.voxel2clip!.parameters - other.graphs.voxel2clip!.parameters).toBe(
        4096 * (15_724 - voxels),
      );
    }
  }, 600_000);

  it("regenerates the committed tiny bundles: same graphs and files, floats within tolerance", async () => {
    const out = await mkdtemp(join(tmpdir(), "tiny-bundles-"));
    try {
      await runExporter("make_test_bundles.py", [out]);
      const bundles = (await readdir(FIXTURES)).sort();
      expect((await readdir(out)).sort()).toEqual(bundles);
      for (const bundle of bundles) {
        const report = await compareBundles(join(FIXTURES, bundle), join(out, bundle));
        console.log(
          `${bundle}: ${report.files} files, max relative float error ${report.max_relative_error}`,
        );
        expect(report.differences, bundle).toEqual([]);
        expect(report.equal).toBe(true);
      }
      // control: one PyTorch output moved past the tolerance is caught, by file
      const eps = join(out, "mindeye1-subj01-tiny/parity/unet/eps.npy");
      const array = await readNpy(eps);
      array.data[0]! += 1e-3;
      await writeNpy(eps, array);
      const moved = await compareBundles(
        join(FIXTURES, "mindeye1-subj01-tiny"),
        join(out, "mindeye1-subj01-tiny"),
      );
      expect(moved.equal).toBe(false);
      expect(moved.differences).toEqual([expect.stringContaining("parity/unet/eps.npy: max error")]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 1_200_000);
});
