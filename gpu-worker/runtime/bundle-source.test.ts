import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BlobStore } from "../../core/storage/blob-store.ts";
import { LocalBlobStore } from "../../core/storage/local-blob-store.ts";
import { S3BlobStore } from "../../core/storage/s3-blob-store.ts";
import { type RunningS3rver, startS3rver } from "../../test/helpers/s3rver.ts";
import { loadBundle } from "../bundles/load-bundle.ts";
import { localBundleDirs, resolveBundleDirs, syncBundles } from "./bundle-source.ts";

const NAME = "mindeye1-subj01-tiny";
const BUNDLE = path.resolve(`test/fixtures/bundles/${NAME}`);

async function filesOf(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join("/"))
    .sort();
}

/** Uploads the tiny bundle to `store` as `<NAME>/<file>`, the layout under MODEL_BUNDLES. */
async function publish(store: BlobStore): Promise<string[]> {
  const files = await filesOf(BUNDLE);
  for (const file of files) await store.put(`${NAME}/${file}`, await readFile(path.join(BUNDLE, file)));
  return files.filter((f) => f !== "manifest.json");
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "mindeye-bundle-source-"));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe.each([
  ["a local-folder BlobStore", "file"],
  ["S3 (s3rver)", "s3"],
] as const)("syncBundles from %s", (_label, kind) => {
  let store: BlobStore;
  let s3: RunningS3rver | undefined;
  let cacheDir: string;
  beforeAll(async () => {
    if (kind === "s3") {
      s3 = await startS3rver();
      store = new S3BlobStore({
        url: `s3://${s3.bucket}/bundles`,
        region: "us-east-1",
        endpoint: s3.endpoint,
        credentials: s3.credentials,
      });
    } else {
      store = new LocalBlobStore({
        root: path.join(tmp, "store"),
        publicBaseUrl: "http://127.0.0.1:1",
        signingSecret: "unused-signing-secret-of-32-characters",
      });
    }
    cacheDir = path.join(tmp, `cache-${kind}`);
  });
  afterAll(() => s3?.close());

  it("copies a bundle that loadBundle then verifies, and fetches nothing on the next start", async () => {
    const files = await publish(store);
    const [first] = await syncBundles(store, cacheDir);
    expect(first).toMatchObject({ name: NAME, dir: path.join(cacheDir, NAME) });
    expect(first!.downloaded.sort()).toEqual(files);
    expect(await filesOf(first!.dir)).toEqual(await filesOf(BUNDLE));
    expect((await loadBundle(first!.dir)).manifest.id).toBe(NAME);

    const [again] = await syncBundles(store, cacheDir);
    expect(again!.downloaded).toEqual([]);
  });

  it("fetches again a cached file that was corrupted, and removes files the manifest does not list", async () => {
    const dir = path.join(cacheDir, NAME);
    await writeFile(path.join(dir, "parity/voxel2clip/backbone.npy"), "corrupted");
    await writeFile(path.join(dir, "stale.onnx"), "from an older version");
    const [synced] = await syncBundles(store, cacheDir);
    expect(synced!.downloaded).toEqual(["parity/voxel2clip/backbone.npy"]);
    expect(await filesOf(dir)).toEqual(await filesOf(BUNDLE));
    await expect(loadBundle(dir)).resolves.toBeDefined();
  });

  it("refuses an object whose bytes do not match the manifest, keeping the cached copy", async () => {
    const cached = path.join(cacheDir, NAME, "voxel2clip.onnx");
    await writeFile(cached, "stale cached bytes");
    await store.put(`${NAME}/voxel2clip.onnx`, "tampered in the store");
    await expect(syncBundles(store, cacheDir)).rejects.toMatchObject({
      code: "invalid_bundle",
      message: expect.stringContaining(`${NAME}/voxel2clip.onnx has sha256`),
    });
    expect(await readFile(cached, "utf8")).toBe("stale cached bytes");
    expect((await readdir(path.join(cacheDir, NAME))).filter((f) => f.includes(".partial-"))).toEqual([]);
  });
});

describe("resolveBundleDirs", () => {
  it("takes a local folder (path or file:// URL) of bundle folders in place", async () => {
    const root = path.join(tmp, "local-bundles");
    await mkdir(path.join(root, "not-a-bundle"), { recursive: true });
    await cp(BUNDLE, path.join(root, NAME), { recursive: true });
    const dirs = [path.join(root, NAME)];
    expect(await resolveBundleDirs(root, { cacheDir: path.join(tmp, "unused") })).toEqual(dirs);
    expect(await resolveBundleDirs(`file://${root}`, { cacheDir: path.join(tmp, "unused") })).toEqual(dirs);
    expect(await localBundleDirs(path.join(tmp, "missing"))).toEqual([]);
  });
});
