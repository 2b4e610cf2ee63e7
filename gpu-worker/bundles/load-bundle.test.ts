import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { BundleManifest } from "../../core/contracts/bundle-manifest.ts";
import { ApiError } from "../../core/contracts/errors.ts";
import { loadBundle } from "./load-bundle.ts";

const TINY = new URL("../../test/fixtures/bundles/mindeye1-subj01-tiny", import.meta.url).pathname;

const scratch: string[] = [];
afterEach(async () => {
  await Promise.all(scratch.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function copyOfTiny(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "bundle-"));
  scratch.push(dir);
  await cp(TINY, dir, { recursive: true });
  return dir;
}

async function editManifest(dir: string, edit: (m: BundleManifest) => void): Promise<void> {
  const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as BundleManifest;
  edit(manifest);
  await writeFile(join(dir, "manifest.json"), JSON.stringify(manifest));
}

async function loadError(dir: string): Promise<ApiError> {
  const error = await loadBundle(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  expect((error as ApiError).code).toBe("invalid_bundle");
  return error as ApiError;
}

describe("loadBundle", () => {
  it("returns the manifest, folder and each graph's file and signature", async () => {
    const bundle = await loadBundle(TINY);
    expect(bundle.dir).toBe(TINY);
    expect(bundle.manifest.id).toBe("mindeye1-subj01-tiny");
    expect(bundle.manifest.input).toEqual({
      voxels: 40,
      dtype: "float32",
      grid: [4, 5, 6],
      mask: { file: "mask.npy", format: "npy", order: "C" },
      training: expect.objectContaining({ zscore: "session" }),
    });
    expect(Object.keys(bundle.graphs).sort()).toEqual([
      "clip_image",
      "lowlevel",
      "prior",
      "unet",
      "vae_decoder",
      "vae_encoder",
      "voxel2clip",
    ]);
    // the signatures the host's samplers and pipeline code against
    const signature = (name: keyof typeof bundle.graphs) => {
      const graph = bundle.graphs[name]!;
      const spec = (t: { name: string; shape: (number | string)[] }) => `${t.name}[${t.shape.join(",")}]`;
      return `${graph.inputs.map(spec).join(" ")} -> ${graph.outputs.map(spec).join(" ")}`;
    };
    expect(signature("unet")).toBe(
      "sample[batch,4,16,16] timestep[batch] encoder_hidden_states[batch,5,16] -> eps[batch,4,16,16]",
    );
    expect(signature("vae_encoder")).toBe(
      "image[batch,3,32,32] -> mean[batch,4,16,16] logvar[batch,4,16,16]",
    );
    expect(signature("vae_decoder")).toBe("latent[batch,4,16,16] -> image[batch,3,32,32]");
    expect(signature("clip_image")).toBe("image[batch,3,32,32] -> image_embeds[batch,5,16]");
    expect(bundle.graphs.voxel2clip).toEqual({
      path: join(TINY, "voxel2clip.onnx"),
      externalData: [],
      inputs: [{ name: "voxels", dtype: "float32", shape: ["batch", 40] }],
      outputs: [
        { name: "backbone", dtype: "float32", shape: ["batch", 5, 16] },
        { name: "retrieval", dtype: "float32", shape: ["batch", 5, 16] },
      ],
    });
    expect(bundle.graphs.prior?.inputs.map((i) => i.name)).toEqual([
      "noisy_image_embed",
      "timestep",
      "brain_embed",
    ]);
  });

  it("names the file and both hashes when a file was altered", async () => {
    const dir = await copyOfTiny();
    const bytes = await readFile(join(dir, "prior.onnx"));
    bytes[bytes.length - 1]! ^= 1;
    await writeFile(join(dir, "prior.onnx"), bytes);
    const error = await loadError(dir);
    expect(error.message).toMatch(/prior\.onnx has sha256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}/);
  });

  it("refuses a listed file that is missing and a file that is not listed", async () => {
    const missing = await copyOfTiny();
    await rm(join(missing, "mask.npy"));
    expect((await loadError(missing)).message).toContain("mask.npy is listed in the manifest but missing");

    const extra = await copyOfTiny();
    await writeFile(join(extra, "notes.txt"), "hello");
    expect((await loadError(extra)).message).toContain(
      "notes.txt is in the folder but not listed in the manifest",
    );
  });

  it("says which declared input the graph lacks", async () => {
    const dir = await copyOfTiny();
    await editManifest(dir, (m) => {
      m.graphs.prior!.inputs[1]!.name = "t";
    });
    const error = await loadError(dir);
    expect(error.message).toContain('prior.onnx: declared input "t" is not in the graph');
    expect(error.message).toContain("noisy_image_embed, timestep, brain_embed");
  });

  it("compares declared shapes and dtypes with the graph's", async () => {
    const dir = await copyOfTiny();
    await editManifest(dir, (m) => {
      m.graphs.voxel2clip!.outputs[0]!.shape = ["batch", 257, 768];
    });
    expect((await loadError(dir)).message).toContain(
      "voxel2clip.onnx: output declared as backbone float32[batch, 257, 768], the graph has backbone float32[batch, 5, 16]",
    );
  });

  it("reports outputs the manifest leaves out", async () => {
    const dir = await copyOfTiny();
    await editManifest(dir, (m) => {
      m.graphs.voxel2clip!.outputs.pop();
    });
    expect((await loadError(dir)).message).toContain(
      "graph outputs not declared in the manifest: retrieval float32[batch, 5, 16]",
    );
  });

  it("explains schema violations by field", async () => {
    const dir = await copyOfTiny();
    await editManifest(dir, (m) => {
      (m as { family: string }).family = "mindeye3";
      m.graphs.prior!.file = "../escape.onnx";
    });
    const message = (await loadError(dir)).message;
    expect(message).toContain("family:");
    expect(message).toContain("graphs.prior.file: must be a relative path inside the bundle");
  });

  it("validates the sampler settings the host's samplers read", async () => {
    const manifest = (await loadBundle(TINY)).manifest;
    expect(manifest.sampler.decoder).toMatchObject({ kind: "unipc", solver_type: "bh2", steps: 20 });
    const dir = await copyOfTiny();
    await editManifest(dir, (m) => {
      (m.sampler.decoder as { solver_type: string }).solver_type = "bh3";
      delete (m.sampler.prior as { cosine_s?: number }).cosine_s;
      m.sampler.decoder!.img2img_strength = 1.5;
    });
    const message = (await loadError(dir)).message;
    expect(message).toContain("sampler.decoder.solver_type:");
    expect(message).toContain("sampler.prior.cosine_s:");
    expect(message).toContain("sampler.decoder.img2img_strength:");
  });

  it("refuses a file the manifest uses without hashing it", async () => {
    const dir = await copyOfTiny();
    await editManifest(dir, (m) => {
      delete m.files["mask.npy"];
    });
    await rm(join(dir, "mask.npy"));
    expect((await loadError(dir)).message).toContain(
      'mask.npy is used by the manifest but has no sha256 in "files"',
    );
  });
});
