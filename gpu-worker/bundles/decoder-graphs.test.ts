/**
 * The image decoder's graphs (issue 13) without the published weights: properties of the exported graphs
 * themselves, and loading state dicts by their own key names from .safetensors and .bin files.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readNpy } from "../../core/npy/index.ts";
import { PYTHON, runExporter } from "./python-exporter.ts";

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "decoder-graphs-"));
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** Tensor names and shapes of a tiny graph, from the exporter's dry run. */
async function tinyTensors(graph: string): Promise<Record<string, number[]>> {
  const args = ["--family", "mindeye1", "--subject", "1", "--config", "tiny", "--graphs", graph, "--dry-run"];
  const report = JSON.parse(await runExporter("export.py", args));
  return report.graphs[graph].tensors;
}

interface Stored {
  dtype: "F32" | "F16";
  shape: number[];
  /** float32 values; F16 tensors here are all zeros, whose float16 bytes are zero bytes too */
  values: Float32Array;
}

/** A .safetensors file written from the format: u64 header length, JSON header, raw little-endian tensors. */
function safetensors(tensors: Record<string, Stored>): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes =
      t.dtype === "F32"
        ? Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength)
        : Buffer.alloc(t.values.length * 2);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, ...chunks]);
}

async function exportFailure(args: string[]): Promise<string> {
  try {
    await runExporter("export.py", args);
  } catch (error) {
    return String((error as { stderr?: string }).stderr);
  }
  throw new Error(`export ${args.join(" ")} succeeded; it should have been refused`);
}

describe("decoder graphs, checked without published weights", () => {
  it("UNet: an all-zero context leaves only each cross-attention's to_out bias; VAE: logvar in [-30, 20]; CLIP: Clipper's token order", async () => {
    const report = JSON.parse(await runExporter("weightless_checks.py", []));
    console.log(JSON.stringify(report));
    const unet = report.unet_zero_context;
    expect(unet.zero_context_vs_bias_only).toBeLessThanOrEqual(1e-5 * Math.max(1, unet.output_scale));
    // control: a real context changes the output far beyond that, so the comparison can fail
    expect(unet.random_context_vs_bias_only).toBeGreaterThan(1e-2);

    const vae = report.vae_logvar_clamp;
    expect(vae.unclamped_max).toBeGreaterThan(20);
    expect(vae.unclamped_min).toBeLessThan(-30);
    expect(vae.logvar_channel_max[0]).toBe(20);
    expect(vae.logvar_channel_min[0]).toBe(20);
    expect(vae.logvar_channel_max[1]).toBe(-30);
    expect(vae.logvar_channel_min[1]).toBe(-30);
    expect(vae.inner_channels_vs_unclamped).toBeLessThanOrEqual(1e-5);
    expect(vae.mean_vs_pytorch).toBeLessThanOrEqual(1e-5);

    const clip = report.clip_token_order;
    expect(clip.tokens).toBe(5);
    expect(clip.row_major_error).toBeLessThanOrEqual(1e-5 * Math.max(1, clip.output_scale));
    expect(clip.column_major_error).toBeGreaterThan(1e-2);
  }, 1_200_000);
});

describe("published state dicts load by their own key names", () => {
  it("exports a UNet from a .safetensors file, and refuses it with one key renamed, naming that key", async () => {
    const shapes = await tinyTensors("unet");
    const tensors: Record<string, Stored> = {};
    let seed = 1;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return (seed / 2147483647 - 0.5) * 0.2;
    };
    for (const [name, shape] of Object.entries(shapes)) {
      const count = shape.reduce((a, b) => a * b, 1);
      tensors[name] = { dtype: "F32", shape, values: Float32Array.from({ length: count }, random) };
    }
    // conv_out weights all zero (stored as float16) and a known bias: eps must then be that bias everywhere
    tensors["conv_out.weight"] = {
      ...tensors["conv_out.weight"]!,
      dtype: "F16",
      values: new Float32Array(tensors["conv_out.weight"]!.values.length),
    };
    tensors["conv_out.bias"] = { dtype: "F32", shape: [4], values: Float32Array.from([1, 2, 3, 4]) };
    const file = join(work, "diffusion_pytorch_model.safetensors");
    await writeFile(file, safetensors(tensors));
    const out = join(work, "unet-bundle");
    const base = ["--family", "mindeye1", "--subject", "1", "--config", "tiny", "--graphs", "unet"];
    await runExporter("export.py", [...base, "--unet", work, "--out", out]);
    const manifest = JSON.parse(await readFile(join(out, "manifest.json"), "utf8"));
    expect(Object.keys(manifest.graphs)).toEqual(["unet"]);
    expect(manifest.source.checkpoints).toEqual([work.split("/").pop()]);
    const eps = await readNpy(join(out, "parity/unet/eps.npy"));
    const plane = 16 * 16;
    for (let i = 0; i < eps.data.length; i++) expect(eps.data[i]).toBe(1 + (Math.floor(i / plane) % 4));

    const key = "up_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight";
    const renamed = "up_blocks.1.attentions.0.transformer_blocks.0.attn2.to_key.weight";
    const { [key]: moved, ...rest } = tensors;
    await writeFile(file, safetensors({ ...rest, [renamed]: moved! }));
    const refusedOut = join(work, "unet-renamed");
    const stderr = await exportFailure([...base, "--unet", file, "--out", refusedOut]);
    expect(stderr).toContain(`missing ${key}`);
    expect(stderr).toContain(`unexpected ${renamed}`);
    expect(existsSync(join(refusedOut, "manifest.json"))).toBe(false);
  }, 600_000);

  it("exports CLIP from a whole CLIPModel .bin (text tower ignored), and refuses an unknown vision key", async () => {
    const shapes = await tinyTensors("clip_image");
    const folder = join(work, "clip-vit-large-patch14");
    await mkdir(folder);
    const save = (extra: Record<string, number[]>) =>
      promisify(execFile)(PYTHON, [
        "-c",
        "import json, sys, torch; torch.manual_seed(0); shapes = json.loads(sys.argv[1]); " +
          "torch.save({k: torch.randn(s) * 0.1 for k, s in shapes.items()}, sys.argv[2])",
        JSON.stringify({ ...shapes, ...extra }),
        join(folder, "pytorch_model.bin"),
      ]);
    // what openai/clip-vit-large-patch14 holds besides the vision tower
    await save({
      "text_model.final_layer_norm.weight": [16],
      "text_projection.weight": [16, 16],
      logit_scale: [],
    });
    const base = ["--family", "mindeye1", "--subject", "1", "--config", "tiny", "--graphs", "clip_image"];
    await runExporter("export.py", [...base, "--clip", folder, "--out", join(work, "clip-bundle")]);
    const manifest = JSON.parse(await readFile(join(work, "clip-bundle/manifest.json"), "utf8"));
    expect(manifest.graphs.clip_image.outputs).toEqual([
      { name: "image_embeds", dtype: "float32", shape: ["batch", 5, 16] },
    ]);

    await save({ "vision_model.encoder.layers.0.mlp.fc3.weight": [16, 16] });
    const stderr = await exportFailure([...base, "--clip", folder, "--out", join(work, "clip-refused")]);
    expect(stderr).toContain("unexpected vision_model.encoder.layers.0.mlp.fc3.weight");
  }, 600_000);
});
