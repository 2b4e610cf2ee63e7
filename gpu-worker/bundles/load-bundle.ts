/**
 * Opens a model bundle folder and proves it is what its manifest says before anything runs it: the manifest
 * parses, every file is listed with the right sha256 (and nothing unlisted is present), and each graph's
 * declared inputs and outputs are exactly the ONNX graph's. Any difference is an `invalid_bundle` error
 * naming the file and what was expected versus found.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { BundleManifest, type GraphName, type TensorSpec } from "../../core/contracts/bundle-manifest.ts";
import { ApiError } from "../../core/contracts/errors.ts";
import { readOnnxSignature } from "./onnx-signature.ts";

export interface LoadedGraph {
  /** Absolute path of the .onnx file (external data files sit next to it, as the graph names them). */
  path: string;
  externalData: string[];
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export interface LoadedBundle {
  manifest: BundleManifest;
  /** Absolute path of the bundle folder. */
  dir: string;
  graphs: Partial<Record<GraphName, LoadedGraph>>;
}

function invalid(dir: string, detail: string, cause?: unknown): ApiError {
  return new ApiError("invalid_bundle", `bundle ${dir}: ${detail}`, { cause });
}

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join("/"))
    .filter((p) => p !== "manifest.json")
    .sort();
}

async function readManifest(dir: string): Promise<BundleManifest> {
  let text: string;
  try {
    text = await readFile(join(dir, "manifest.json"), "utf8");
  } catch (error) {
    throw invalid(dir, "manifest.json cannot be read", error);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw invalid(dir, `manifest.json is not JSON: ${(error as Error).message}`, error);
  }
  const parsed = BundleManifest.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw invalid(dir, `manifest.json does not match the schema: ${issues.join("; ")}`);
  }
  return parsed.data;
}

/** Every file the manifest refers to must be among its hashed files. */
function referencedFiles(manifest: BundleManifest): string[] {
  const files: string[] = [];
  for (const graph of Object.values(manifest.graphs)) files.push(graph.file, ...graph.external_data);
  if (manifest.input.mask) files.push(manifest.input.mask.file);
  for (const parity of Object.values(manifest.parity ?? {})) {
    files.push(...Object.values(parity.inputs), ...Object.values(parity.outputs));
  }
  return files;
}

async function verifyFiles(dir: string, manifest: BundleManifest): Promise<void> {
  const present = new Set(await listFiles(dir));
  for (const file of referencedFiles(manifest)) {
    if (!(file in manifest.files))
      throw invalid(dir, `${file} is used by the manifest but has no sha256 in "files"`);
  }
  for (const file of present) {
    if (!(file in manifest.files))
      throw invalid(dir, `${file} is in the folder but not listed in the manifest`);
  }
  for (const [file, expected] of Object.entries(manifest.files)) {
    if (!present.has(file)) throw invalid(dir, `${file} is listed in the manifest but missing`);
    const actual = await sha256(join(dir, file));
    if (actual !== expected)
      throw invalid(dir, `${file} has sha256 ${actual}, the manifest says ${expected}`);
  }
}

function describe(spec: TensorSpec): string {
  return `${spec.name} ${spec.dtype}[${spec.shape.join(", ")}]`;
}

function compareSignature(
  dir: string,
  file: string,
  kind: string,
  declared: TensorSpec[],
  actual: TensorSpec[],
) {
  const actualByName = new Map(actual.map((t) => [t.name, t]));
  for (const spec of declared) {
    const found = actualByName.get(spec.name);
    if (!found) {
      const names = actual.map((t) => t.name).join(", ");
      throw invalid(
        dir,
        `${file}: declared ${kind} "${spec.name}" is not in the graph (its ${kind}s: ${names})`,
      );
    }
    const sameShape =
      found.shape.length === spec.shape.length && found.shape.every((dim, i) => dim === spec.shape[i]);
    if (found.dtype !== spec.dtype || !sameShape) {
      throw invalid(dir, `${file}: ${kind} declared as ${describe(spec)}, the graph has ${describe(found)}`);
    }
  }
  const declaredNames = new Set(declared.map((t) => t.name));
  const undeclared = actual.filter((t) => !declaredNames.has(t.name));
  if (undeclared.length > 0) {
    throw invalid(
      dir,
      `${file}: graph ${kind}s not declared in the manifest: ${undeclared.map(describe).join(", ")}`,
    );
  }
}

export async function loadBundle(folder: string): Promise<LoadedBundle> {
  const dir = resolve(folder);
  const manifest = await readManifest(dir);
  await verifyFiles(dir, manifest);
  const graphs: Partial<Record<GraphName, LoadedGraph>> = {};
  for (const [name, spec] of Object.entries(manifest.graphs) as [
    GraphName,
    (typeof manifest.graphs)[GraphName],
  ][]) {
    if (!spec) continue;
    const path = join(dir, spec.file);
    let signature: Awaited<ReturnType<typeof readOnnxSignature>>;
    try {
      signature = await readOnnxSignature(path);
    } catch (error) {
      throw invalid(dir, `${spec.file} is not a readable ONNX model: ${(error as Error).message}`, error);
    }
    compareSignature(dir, spec.file, "input", spec.inputs, signature.inputs);
    compareSignature(dir, spec.file, "output", spec.outputs, signature.outputs);
    graphs[name] = {
      path,
      externalData: spec.external_data.map((f) => join(dir, f)),
      inputs: spec.inputs,
      outputs: spec.outputs,
    };
  }
  return { manifest, dir, graphs };
}
