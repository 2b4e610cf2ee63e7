import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT, runExporter } from "./python-exporter.ts";

const FIXTURES = join(REPO_ROOT, "test/fixtures/bundles");

interface DryRun {
  voxels: number;
  graphs: Record<
    string,
    { parameters: number; parts?: Record<string, number>; tensors: Record<string, number[]> }
  >;
}

async function dryRun(subject: number): Promise<DryRun> {
  const args = ["--family", "mindeye1", "--subject", String(subject), "--config", "full", "--dry-run"];
  return JSON.parse(await runExporter("export.py", args)) as DryRun;
}

describe("exporter", () => {
  it("counts the published MindEye1 widths for subject 1", async () => {
    const report = await dryRun(1);
    expect(report.voxels).toBe(15_724);
    expect(report.graphs.voxel2clip?.parts).toEqual({ backbone: 940_225_280, projector: 7_354_624 });
    expect(report.graphs.prior?.parameters).toBe(56_055_168);
  });

  it("changes only the first layer for subjects 2, 5 and 7", async () => {
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
        const firstLayer = graph === "prior" ? [] : ["lin0.0.weight"];
        expect(changed, `${graph}, subject ${subject}`).toEqual(firstLayer);
        expect(Object.keys(other.graphs[graph]!.tensors)).toEqual(Object.keys(entry.tensors));
      }
      expect(other.graphs.voxel2clip?.tensors["lin0.0.weight"]).toEqual([4096, voxels]);
      expect(base.graphs.voxel2clip!.parameters - other.graphs.voxel2clip!.parameters).toBe(
        4096 * (15_724 - voxels),
      );
    }
  }, 60_000);

  it("regenerates the committed tiny bundles byte for byte", async () => {
    const out = await mkdtemp(join(tmpdir(), "tiny-bundles-"));
    try {
      await runExporter("make_test_bundles.py", [out]);
      const bundles = (await readdir(FIXTURES)).sort();
      expect((await readdir(out)).sort()).toEqual(bundles);
      for (const bundle of bundles) {
        const committed = await readFile(join(FIXTURES, bundle, "manifest.json"), "utf8");
        const regenerated = await readFile(join(out, bundle, "manifest.json"), "utf8");
        // The manifest holds the sha256 of every other file, so equal manifests mean equal bundles.
        expect(JSON.parse(regenerated).files, bundle).toEqual(JSON.parse(committed).files);
        expect(regenerated, bundle).toBe(committed);
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 180_000);
});
