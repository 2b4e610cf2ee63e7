import path from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../../core/contracts/errors.ts";
import { readNpy } from "../../core/npy/index.ts";
import { ModelServer } from "./model-server.ts";

const BUNDLE = path.resolve("test/fixtures/bundles/mindeye1-subj01-tiny");
const MODEL = "mindeye1-subj01-tiny";

let server: ModelServer;
beforeAll(async () => {
  server = await ModelServer.open({
    bundleDirs: [BUNDLE],
    providers: ["cpu"],
    batch: { maxBatchRows: 16, maxDelayMs: 5, maxQueue: 256 },
    log: pino({ level: "silent" }),
  });
});
afterAll(() => server.close());

const maxAbsDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe("ModelServer", () => {
  it("describes its models from their manifests", async () => {
    const [model] = await server.listModels();
    expect(model).toMatchObject({
      id: MODEL,
      family: "mindeye1",
      subject: "subj01",
      input: { voxels: 40, grid: [4, 5, 6] },
      outputs: { backbone: { shape: [5, 16] }, retrieval: { shape: [5, 16] } },
    });
    const mask = await server.getMask(MODEL);
    expect(mask).toHaveLength(4 * 5 * 6);
    expect(mask!.reduce((a, b) => a + b, 0)).toBe(40);
  });

  it("reproduces PyTorch's outputs for the exporter's reference inputs", async () => {
    const voxels = await readNpy(path.join(BUNDLE, "parity/voxel2clip/voxels.npy"));
    const result = await server.embed(MODEL, voxels, ["backbone", "retrieval"]);
    for (const name of ["backbone", "retrieval"] as const) {
      const expected = await readNpy(path.join(BUNDLE, `parity/voxel2clip/${name}.npy`));
      expect(result.outputs[name]!.shape).toEqual(expected.shape);
      expect(maxAbsDiff(result.outputs[name]!.data, expected.data)).toBeLessThan(1e-4);
    }
  });

  it("batches 32 concurrent single-trial requests and gives each the unbatched answer", async () => {
    const voxels = await readNpy(path.join(BUNDLE, "parity/voxel2clip/voxels.npy"));
    const rows = Array.from({ length: 32 }, (_, i) => {
      const trial = i % voxels.shape[0]!;
      return voxels.data.slice(trial * 40, (trial + 1) * 40).map((v) => v + i * 0.01);
    });
    const alone: Awaited<ReturnType<ModelServer["embed"]>>[] = [];
    for (const row of rows)
      alone.push(await server.embed(MODEL, { data: row, shape: [1, 40] }, ["retrieval"]));
    const together = await Promise.all(
      rows.map((row) => server.embed(MODEL, { data: row, shape: [1, 40] }, ["retrieval"])),
    );
    expect(Math.max(...together.map((r) => r.timing.batch_size))).toBeGreaterThan(1);
    together.forEach((r, i) => {
      expect(maxAbsDiff(r.outputs.retrieval!.data, alone[i]!.outputs.retrieval!.data)).toBeLessThan(1e-5);
    });
  });

  it("splits a request larger than a batch and keeps trial order", async () => {
    const trials = 40;
    const data = Float32Array.from({ length: trials * 40 }, (_, i) => Math.sin(i));
    const whole = await server.embed(MODEL, { data, shape: [trials, 40] }, ["backbone"]);
    expect(whole.outputs.backbone!.shape).toEqual([trials, 5, 16]);
    const last = await server.embed(MODEL, { data: data.slice(39 * 40), shape: [1, 40] }, ["backbone"]);
    expect(maxAbsDiff(whole.outputs.backbone!.data.slice(39 * 80), last.outputs.backbone!.data)).toBeLessThan(
      1e-5,
    );
  });

  it("refuses an unknown model and a wrong voxel count by name", async () => {
    await expect(
      server.embed("nope", { data: new Float32Array(40), shape: [1, 40] }, ["retrieval"]),
    ).rejects.toMatchObject({
      code: "model_not_found",
    });
    const wrong = server.embed(MODEL, { data: new Float32Array(39), shape: [1, 39] }, ["retrieval"]);
    await expect(wrong).rejects.toBeInstanceOf(ApiError);
    await expect(wrong).rejects.toMatchObject({ code: "voxel_count_mismatch" });
  });
});

describe("ModelServer with a bundle that has no image decoder", () => {
  const POOLED = path.resolve("test/fixtures/bundles/mindeye1-1x768-subj01-tiny");

  it("still embeds (the 1x768 model's pooled query) and says it cannot reconstruct, naming what is missing", async () => {
    const pooled = await ModelServer.open({
      bundleDirs: [POOLED],
      providers: ["cpu"],
      batch: { maxBatchRows: 16, maxDelayMs: 5, maxQueue: 256 },
      log: pino({ level: "silent" }),
    });
    try {
      const model = await pooled.getModel("mindeye1-1x768-subj01-tiny");
      expect(model.family).toBe("mindeye1-1x768");
      expect(model.outputs).toEqual({ backbone: { shape: [1, 16] }, retrieval: { shape: [1, 16] } });
      expect(model.capabilities).toEqual({
        embeddings: true,
        retrieval: true,
        reconstruction: false,
        missing_for_reconstruction: ["prior", "lowlevel", "vae_encoder", "unet", "vae_decoder", "clip_image"],
      });
      const voxels = await readNpy(path.join(POOLED, "parity/voxel2clip/voxels.npy"));
      const result = await pooled.embed(model.id, voxels, ["retrieval"]);
      const expected = await readNpy(path.join(POOLED, "parity/voxel2clip/retrieval.npy"));
      expect(result.outputs.retrieval!.shape).toEqual([2, 1, 16]);
      expect(maxAbsDiff(result.outputs.retrieval!.data, expected.data)).toBeLessThan(1e-4);
    } finally {
      await pooled.close();
    }
  });

  it("reports the full MindEye1 bundle as able to reconstruct", async () => {
    const [model] = await server.listModels();
    expect(model!.capabilities).toEqual({
      embeddings: true,
      retrieval: true,
      reconstruction: true,
      missing_for_reconstruction: [],
    });
  });
});
