/**
 * sim01 end to end in one process: generated once into a temp dir (about a minute), then checked the way
 * the service will use it: the bundle verifies, its graphs run in ONNX Runtime, the NSD-style files read back
 * through core/betas, and test trials prepared as the service prepares uploads retrieve their image.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  extractMaskedVoxels,
  type InputSpace,
  iterateTrials,
  openBetaFile,
  type PreprocessingRequest,
  preprocessBetas,
} from "../../core/betas/index.ts";
import { DEBIAN_PYTHON, hasDebianPython } from "../../core/betas/testing.ts";
import { LocalVectorStore } from "../../core/search/embedded/local-vector-store.ts";
import { sharedSim01 } from "../../test/helpers/sim01-cache.ts";
import { loadBundle } from "../bundles/load-bundle.ts";
import { ModelServer } from "../runtime/model-server.ts";
import { imageTensor } from "./encoder.ts";
import { ensureSim01, type Sim01 } from "./ensure-sim01.ts";
import { exportTrials } from "./export-trials.ts";
import { niftiInt16 } from "./nsd-writers.ts";
import { clipImageGraph } from "./onnx-graphs.ts";
import { Prng } from "./prng.ts";
import { EMBEDDING_VALUES, GRID, IMAGE_SIZE, STIMULUS_INDEX, TEST_STIMULI } from "./sim01-spec.ts";
import { readStimulusFiles } from "./stimulus-files.ts";
import { maskedVoxels } from "./voxel-matrix.ts";
import { buildWorld, type World } from "./world.ts";

let dataDir = "";
let indexDir = "";
let sim: Sim01 & { dataDir: string };
let store: LocalVectorStore;
let space: InputSpace;
let world: World;
let testIds: Set<string>;

beforeAll(async () => {
  indexDir = await mkdtemp(join(tmpdir(), "sim01-indexes-"));
  store = new LocalVectorStore(indexDir, "exact");
  sim = await sharedSim01(store);
  dataDir = sim.dataDir;
  const { manifest } = await loadBundle(sim.bundleDir);
  const maskFile = await openBetaFile(join(sim.bundleDir, manifest.input.mask!.file));
  let mask: Float32Array | undefined;
  for await (const volume of iterateTrials(maskFile)) mask = volume;
  await maskFile.close();
  space = { voxels: manifest.input.voxels, grid: manifest.input.grid!, mask: mask! };
  world = buildWorld();
  testIds = new Set(
    (await readStimulusFiles(sim.stimuliDir)).records
      .filter((r) => r.split === "test")
      .map((r) => r.stimulus_id),
  );
}, 600_000);

afterAll(async () => {
  await store?.close();
  if (indexDir) await rm(indexDir, { recursive: true, force: true });
});

describe("sim01 files", () => {
  it("is a bundle that passes loadBundle, with every graph MindEye1 reconstructs through", async () => {
    const bundle = await loadBundle(sim.bundleDir);
    expect(bundle.manifest).toMatchObject({ id: "sim01", family: "mindeye1", subject: "sim01" });
    expect(Object.keys(bundle.graphs).sort()).toEqual(
      ["clip_image", "lowlevel", "prior", "unet", "vae_decoder", "vae_encoder", "voxel2clip"].sort(),
    );
    expect(bundle.manifest.graphs.clip_image!.outputs.map((o) => o.name)).toEqual(["image_embeds"]);
    expect(bundle.manifest.embeddings.retrieval!.normalization).toBe("flatten_l2");
    expect(space.voxels).toBe(world.subject.roiFileOffsets.length);
    expect(Array.from(space.mask!).filter((v) => v > 0)).toHaveLength(space.voxels);
  });

  it("is reused by a second call", async () => {
    const again = await ensureSim01(dataDir, { vectorStore: store });
    expect(again.generated).toBe(false);
    expect(again.truth).toEqual(sim.truth);
    expect((await store.list()).find((i) => i.name === STIMULUS_INDEX)?.count).toBe(3000);
  });

  it("is deterministic: the world rebuilt from the seed gives the same bytes", async () => {
    const bundleFile = await readFile(join(sim.bundleDir, "clip_image.onnx"));
    expect(Buffer.from(clipImageGraph(world.encoder)).equals(bundleFile)).toBe(true);
    const [first] = sim.truth.sessions;
    const nifti = await readFile(join(sim.sessionsDir, first!.file));
    expect(niftiInt16(world.sessionBetas[0]!, GRID).equals(nifti)).toBe(true);
    const png = await sharp(world.pixels[7]!, { raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 3 } })
      .png({ compressionLevel: 9 })
      .toBuffer();
    expect(png.equals(await readFile(join(sim.stimuliDir, "s0007.png")))).toBe(true);
  });

  it("runs the clip_image graph in ONNX Runtime to the embeddings computed in TypeScript", async () => {
    const { embeddings } = await readStimulusFiles(sim.stimuliDir);
    const picks = [0, 1, 2, 500, 1999, 2999];
    const input = new Float32Array(picks.length * 3 * IMAGE_SIZE * IMAGE_SIZE);
    for (const [k, s] of picks.entries()) {
      const png = join(sim.stimuliDir, `s${String(s).padStart(4, "0")}.png`);
      const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
      input.set(imageTensor(new Uint8Array(data)), k * 3 * IMAGE_SIZE * IMAGE_SIZE);
    }
    const session = await ort.InferenceSession.create(join(sim.bundleDir, "clip_image.onnx"));
    const { image_embeds } = await session.run({
      image: new ort.Tensor("float32", input, [picks.length, 3, IMAGE_SIZE, IMAGE_SIZE]),
    });
    const onnx = image_embeds!.data as Float32Array;
    let maxDiff = 0;
    for (const [k, s] of picks.entries()) {
      for (let j = 0; j < EMBEDDING_VALUES; j++) {
        maxDiff = Math.max(
          maxDiff,
          Math.abs(onnx[k * EMBEDDING_VALUES + j]! - embeddings[s * EMBEDDING_VALUES + j]!),
        );
      }
    }
    expect(maxDiff).toBeLessThan(1e-5);
    await session.release();
  });

  it.each(["file", "hdf5"] as const)(
    "reads session 1's %s back through core/betas as NSD's int16 x300",
    async (kind) => {
      const [first] = sim.truth.sessions;
      const file = await openBetaFile(join(sim.sessionsDir, first![kind]!));
      const trials = first!.stimulus.length;
      expect(file.dtype).toBe("<i2");
      expect(file.scaling).toBeNull();
      expect(file.grid).toEqual(GRID);
      expect(file.shape).toEqual(kind === "file" ? [...GRID, trials] : [trials, GRID[2], GRID[1], GRID[0]]);
      const matrix = await extractMaskedVoxels(file, space);
      await file.close();
      const expected = maskedVoxels(world.sessionBetas[0]!, world.subject.roiFileOffsets).data;
      expect(matrix.shape).toEqual([first!.stimulus.length, space.voxels]);
      expect(sameBytes(matrix.data, expected)).toBe(true);
      const prepared = preprocessBetas(matrix, { scale: "auto" }, file);
      expect(prepared.applied.scale.divisor).toBe(300);
    },
  );

  it.skipIf(!hasDebianPython() && !process.env.CI)(
    "reads back in nibabel and h5py as NSD's files do (SKIPPED outside CI without Debian's nibabel/h5py)",
    async () => {
      const [first] = sim.truth.sessions;
      const script = [
        "import sys, json, gzip, nibabel as nib, h5py, numpy as np",
        "nii = nib.load(sys.argv[1]); data = np.asanyarray(nii.dataobj)",
        "h5 = h5py.File(sys.argv[2], 'r')['betas'][()]",
        "mask = np.load(sys.argv[3])",
        "masked = np.moveaxis(data, -1, 0).reshape(data.shape[-1], -1)[:, mask.flatten() > 0]",
        "raw = np.frombuffer(gzip.open(sys.argv[1]).read(120)[112:120], '<f4').tolist()  # scl_slope, scl_inter as stored",
        "print(json.dumps({'dtype': str(data.dtype), 'h5_dtype': str(h5.dtype), 'stored_scaling': raw,",
        "  'scaling': [v is None for v in nii.header.get_slope_inter()], 'h5_is_nifti_transposed': bool((h5 == data.T).all()),",
        "  'masked_sum': int(masked.astype(np.int64).sum()), 'first': masked[0, :4].tolist()}))",
      ].join("\n");
      const out = execFileSync(DEBIAN_PYTHON, [
        "-c",
        script,
        join(sim.sessionsDir, first!.file),
        join(sim.sessionsDir, first!.hdf5!),
        join(sim.bundleDir, "mask.npy"),
      ]).toString();
      const ours = maskedVoxels(world.sessionBetas[0]!, world.subject.roiFileOffsets).data;
      expect(JSON.parse(out)).toEqual({
        dtype: "int16",
        h5_dtype: "int16",
        stored_scaling: [0, 0],
        scaling: [true, true],
        h5_is_nifti_transposed: true,
        masked_sum: ours.reduce((a, b) => a + b, 0),
        first: Array.from(ours.subarray(0, 4)),
      });
    },
  );

  it("is served by the ModelServer, mask included, as a model that can reconstruct", async () => {
    const server = await ModelServer.open({
      bundleDirs: [sim.bundleDir],
      providers: ["cpu"],
      batch: { maxBatchRows: 16, maxDelayMs: 1, maxQueue: 64 },
      log: { info: () => {}, warn: () => {} },
    });
    try {
      const [model] = await server.listModels();
      expect(model).toMatchObject({ id: "sim01", input: { voxels: space.voxels, grid: GRID } });
      expect(model!.capabilities).toEqual({
        embeddings: true,
        retrieval: true,
        reconstruction: true,
        missing_for_reconstruction: [],
      });
      // Requests that leave settings out get the bundle's: guidance 1, as sim01's decoder world is exact.
      expect(model!.reconstruction_defaults).toEqual({
        samples: 16,
        seed: 42,
        decoder_steps: 20,
        guidance_scale: 1,
        img2img_strength: 0.85,
      });
      expect(Array.from((await server.getMask("sim01"))!)).toEqual(
        Array.from(space.mask!, (v) => (v > 0 ? 1 : 0)),
      );
      const voxels = {
        data: Float32Array.from({ length: 2 * space.voxels }, (_, i) => Math.sin(i)),
        shape: [2, space.voxels],
      };
      const { outputs } = await server.embed("sim01", voxels, ["backbone", "retrieval"]);
      const retrieval = outputs.retrieval!.data;
      for (let row = 0; row < 2; row++) {
        const flat = retrieval.subarray(row * EMBEDDING_VALUES, (row + 1) * EMBEDDING_VALUES);
        expect(Math.hypot(...flat)).toBeCloseTo(1, 5);
        const backbone = outputs.backbone!.data.subarray(
          row * EMBEDDING_VALUES,
          (row + 1) * EMBEDDING_VALUES,
        );
        // The retrieval head undoes the backbone's rotation: retrieval = normalise(backbone R^T) ...
        const head = new Float64Array(EMBEDDING_VALUES);
        for (let i = 0; i < EMBEDDING_VALUES; i++) {
          for (let j = 0; j < EMBEDDING_VALUES; j++)
            head[i]! += backbone[j]! * world.backboneRotation[i * EMBEDDING_VALUES + j]!;
        }
        const headNorm = Math.hypot(...head);
        expect(Math.max(...head.map((v, i) => Math.abs(v / headNorm - flat[i]!)))).toBeLessThan(1e-4);
        // ... so the backbone itself points elsewhere: searching it is the wrong output.
        expect(Math.abs(cosine(flat, backbone))).toBeLessThan(0.3);
      }
    } finally {
      await server.close();
    }
  });

  it("exports the sessions with truth.json; each test image's repeats are in three different sessions", async () => {
    const out = join(dataDir, "export");
    const truth = await exportTrials(dataDir, out);
    expect(truth).toMatchObject({ model: "sim01", index: STIMULUS_INDEX });
    expect(truth.sessions.map((s) => s.stimulus)).toEqual(sim.truth.sessions.map((s) => s.stimulus));
    const written = JSON.parse(await readFile(join(out, "truth.json"), "utf8"));
    expect(written).toEqual(truth);
    for (const s of truth.sessions) {
      expect((await readFile(join(out, s.file))).equals(await readFile(join(sim.sessionsDir, s.file)))).toBe(
        true,
      );
    }
    const sessionsOf = new Map<string, Set<number>>();
    truth.sessions.forEach((s, i) => {
      for (const id of s.stimulus) sessionsOf.set(id, (sessionsOf.get(id) ?? new Set()).add(i));
    });
    const shown = (id: string) => truth.sessions.flatMap((s) => s.stimulus.filter((x) => x === id)).length;
    const repeated = [...sessionsOf].filter(([id]) => shown(id) > 1);
    expect(repeated).toHaveLength(TEST_STIMULI);
    expect(repeated.every(([id, sessions]) => shown(id) === 3 && sessions.size === 3)).toBe(true);
    expect(sessionsOf.size).toBe(3000);
  });
});

describe("sim01 retrieval of the test images (in process)", () => {
  /**
   * Top-1 among the 300 test images: each session prepared whole (scaled, z-scored as asked), its test
   * trials taken, each image's three repeats (from three sessions) averaged, embedded, searched.
   */
  async function top1(preprocessing: PreprocessingRequest, shuffle = false): Promise<number> {
    const session = await ort.InferenceSession.create(join(sim.bundleDir, "voxel2clip.onnx"));
    const index = await store.open(STIMULUS_INDEX);
    const permutation = shuffledOrder(space.voxels);
    const sums = new Map<string, Float32Array>();
    for (const held of sim.truth.sessions) {
      const file = await openBetaFile(join(sim.sessionsDir, held.file));
      const matrix = await extractMaskedVoxels(file, space);
      await file.close();
      if (shuffle) permuteColumns(matrix.data, space.voxels, permutation);
      const prepared = preprocessBetas(matrix, preprocessing, file);
      held.stimulus.forEach((id, t) => {
        if (!testIds.has(id)) return;
        const sum = sums.get(id) ?? new Float32Array(space.voxels);
        const row = prepared.data.subarray(t * space.voxels, (t + 1) * space.voxels);
        for (let v = 0; v < space.voxels; v++) sum[v]! += row[v]! / 3;
        sums.set(id, sum);
      });
    }
    const ids = [...sums.keys()];
    const input = new Float32Array(ids.length * space.voxels);
    ids.forEach((id, i) => {
      input.set(sums.get(id)!, i * space.voxels);
    });
    const { retrieval } = await session.run({
      voxels: new ort.Tensor("float32", input, [ids.length, space.voxels]),
    });
    const vectors = retrieval!.data as Float32Array;
    const queries = ids.map((_, i) => vectors.slice(i * EMBEDDING_VALUES, (i + 1) * EMBEDDING_VALUES));
    const hits = await index.queryBatch(queries, { k: 1, filter: { split: "test" } });
    await index.close();
    await session.release();
    expect(ids).toHaveLength(TEST_STIMULI);
    return hits.filter(([hit], i) => hit?.id === ids[i]).length / ids.length;
  }

  it("finds the seen image far above chance (1/300) when each session is z-scored whole", async () => {
    const accuracy = await top1({ scale: "auto", zscore: "session" });
    console.log(
      `sim01 top-1 among ${TEST_STIMULI}: ${accuracy.toFixed(3)} (chance ${(1 / TEST_STIMULI).toFixed(4)})`,
    );
    expect(accuracy).toBeGreaterThan(0.6);
    expect(accuracy).toBeLessThan(1);
  });

  it("falls to chance with voxels shuffled within the mask", async () => {
    const accuracy = await top1({ scale: "auto", zscore: "session" }, true);
    console.log(`sim01 top-1, voxels shuffled: ${accuracy.toFixed(3)}`);
    expect(accuracy).toBeLessThan(0.03);
  });

  it("falls to chance without per-session z-scoring", async () => {
    const accuracy = await top1({ scale: "auto", zscore: "none" });
    console.log(`sim01 top-1, no z-scoring: ${accuracy.toFixed(3)}`);
    expect(accuracy).toBeLessThan(0.03);
  });
});

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    aa += a[i]! ** 2;
    bb += b[i]! ** 2;
  }
  return dot / Math.sqrt(aa * bb);
}

/** Byte equality; vitest's toEqual walks large typed arrays element by element, far too slowly. */
function sameBytes(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

function shuffledOrder(n: number): number[] {
  return new Prng(12345).shuffle(Array.from({ length: n }, (_, i) => i));
}

function permuteColumns(data: Float32Array, cols: number, order: readonly number[]): void {
  const row = new Float32Array(cols);
  for (let start = 0; start < data.length; start += cols) {
    row.set(data.subarray(start, start + cols));
    for (let c = 0; c < cols; c++) data[start + c] = row[order[c]!]!;
  }
}
