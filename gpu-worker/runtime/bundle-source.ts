/**
 * Resolves MODEL_BUNDLES to local bundle folders for ModelServer.open: a local folder of bundle folders is
 * used in place; `s3://bucket/prefix` is synced into a cache folder first (the worker's NVMe), fetching
 * only files whose sha256 differs from the manifest's and checking each download against it. loadBundle
 * then verifies the whole folder again before anything runs it.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { access, mkdir, readdir, rename, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { BundleManifest } from "../../core/contracts/bundle-manifest.ts";
import { ApiError } from "../../core/contracts/errors.ts";
import type { BlobStore } from "../../core/storage/blob-store.ts";
import { S3BlobStore } from "../../core/storage/s3-blob-store.ts";

export interface BundleSourceOptions {
  /** Where bundles from S3 are kept between starts. */
  cacheDir: string;
  /** AWS_REGION and S3_ENDPOINT, for an s3:// source. */
  region?: string;
  s3Endpoint?: string;
  log?: Pick<Logger, "info">;
}

export interface SyncedBundle {
  name: string;
  dir: string;
  /** Files fetched this time (missing from the cache, or with another sha256 there). */
  downloaded: string[];
}

/** `MODEL_BUNDLES` (a folder, `file://` URL or `s3://bucket/prefix`) to the folders of its bundles, sorted. */
export async function resolveBundleDirs(source: string, options: BundleSourceOptions): Promise<string[]> {
  if (source.startsWith("s3://")) {
    const store = new S3BlobStore({
      url: source,
      region: options.region ?? "us-east-1",
      endpoint: options.s3Endpoint,
    });
    const synced = await syncBundles(store, options.cacheDir, options.log);
    return synced.map((b) => b.dir);
  }
  return localBundleDirs(source.startsWith("file://") ? fileURLToPath(source) : source);
}

/** Sub-folders of `root` holding a manifest.json; none when `root` does not exist. */
export async function localBundleDirs(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  const dirs = entries.filter((e) => e.isDirectory()).map((e) => path.resolve(root, e.name));
  const found = await Promise.all(dirs.map((d) => exists(path.join(d, "manifest.json"))));
  return dirs.filter((_, i) => found[i]).sort();
}

/**
 * Copies every bundle in `store` (keys `<name>/manifest.json` and `<name>/<file>`) into
 * `cacheDir/<name>`, so that the folder ends up holding exactly the manifest's files with its hashes.
 */
export async function syncBundles(
  store: BlobStore,
  cacheDir: string,
  log?: Pick<Logger, "info">,
): Promise<SyncedBundle[]> {
  const names: string[] = [];
  for await (const head of store.list("")) {
    // The name becomes a folder under cacheDir: "." and ".." (possible as S3 keys) must not.
    const match = /^([^/]+)\/manifest\.json$/.exec(head.key);
    if (match && match[1] !== "." && match[1] !== "..") names.push(match[1]!);
  }
  const synced: SyncedBundle[] = [];
  for (const name of names.sort()) {
    const bundle = await syncBundle(store, name, path.resolve(cacheDir, name));
    log?.info({ bundle: name, downloaded: bundle.downloaded.length }, "model bundle synced");
    synced.push(bundle);
  }
  return synced;
}

async function syncBundle(store: BlobStore, name: string, dir: string): Promise<SyncedBundle> {
  const manifestBytes = await readAll(await store.get(`${name}/manifest.json`));
  const manifest = parseManifest(name, manifestBytes);
  await mkdir(dir, { recursive: true });
  const downloaded: string[] = [];
  for (const [file, expected] of Object.entries(manifest.files)) {
    const local = path.join(dir, ...file.split("/"));
    if ((await sha256OfFile(local)) === expected) continue;
    await download(store, `${name}/${file}`, local, expected);
    downloaded.push(file);
  }
  // loadBundle refuses files the manifest does not list, so leftovers of an older version go.
  const listed = new Set([...Object.keys(manifest.files), "manifest.json"]);
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const relative = path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join("/");
    if (entry.isFile() && !listed.has(relative)) await unlink(path.join(entry.parentPath, entry.name));
  }
  // The manifest goes last: until it is in place, the folder still describes its previous version.
  await replaceFile(path.join(dir, "manifest.json"), (tmp) => writeFile(tmp, manifestBytes));
  return { name, dir, downloaded };
}

function parseManifest(name: string, bytes: Buffer): BundleManifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new ApiError("invalid_bundle", `bundle ${name}: manifest.json is not JSON`, { cause: error });
  }
  const parsed = BundleManifest.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new ApiError(
      "invalid_bundle",
      `bundle ${name}: manifest.json does not match the schema: ${issues.join("; ")}`,
    );
  }
  return parsed.data;
}

/** Streams the object to a temporary file, hashing on the way, and moves it into place only if the hash matches. */
async function download(store: BlobStore, key: string, local: string, expected: string): Promise<void> {
  await mkdir(path.dirname(local), { recursive: true });
  await replaceFile(local, async (tmp) => {
    const hash = createHash("sha256");
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(await store.get(key), hashing, createWriteStream(tmp));
    const actual = hash.digest("hex");
    if (actual !== expected) {
      throw new ApiError(
        "invalid_bundle",
        `${key} has sha256 ${actual} in the store, the manifest says ${expected}`,
      );
    }
  });
}

/** Writes through `write` to a sibling temporary file, renamed over `target` on success and removed on failure. */
async function replaceFile(target: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${target}.partial-${randomBytes(6).toString("hex")}`;
  try {
    await write(tmp);
    await rename(tmp, target);
  } catch (error) {
    await unlink(tmp).catch(() => {});
    throw error;
  }
}

async function sha256OfFile(file: string): Promise<string | null> {
  const hash = createHash("sha256");
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 22 }))
      hash.update(chunk as Buffer);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  return hash.digest("hex");
}

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );
