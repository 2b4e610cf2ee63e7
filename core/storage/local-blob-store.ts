import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rmdir,
  stat,
  unlink,
  writeFile,
} from "node:fs/promises";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ApiError } from "../contracts/errors.ts";
import { assertValidKey, assertValidPrefix } from "./blob-keys.ts";
import {
  type BlobBody,
  type BlobHead,
  type BlobStore,
  nodeBody,
  type PresignedRequest,
} from "./blob-store.ts";
import { assertValidRange, type ByteRange, rangeNotSatisfiable } from "./byte-range.ts";
import { withDeclaredSize } from "./declared-size.ts";
import { signLocalUrl } from "./local-presigned-url.ts";
import { assertValidExpiry, assertValidMaxBytes } from "./presign-options.ts";

export interface LocalBlobStoreOptions {
  /** The store's folder; holds objects/, meta/ and tmp/. */
  root: string;
  /** The API's public URL; presigned URLs point at its /v1/blobs/ route. */
  publicBaseUrl: string;
  /** HMAC key of the presigned URLs (the same one the route verifies with). */
  signingSecret: string;
}

/**
 * The sidecar of an object. `ino` names the data file it describes: data and sidecar are renamed into
 * place one after the other, so a reader that finds them out of step (a crash or a concurrent put in
 * between) ignores the sidecar rather than reporting another version's etag or content type.
 */
interface Sidecar {
  ino: string;
  etag: string;
  contentType?: string;
}

// Labs' files are human-subjects data: readable by the service's own user only.
const PRIVATE_FILE = 0o600;
const PRIVATE_FOLDER = 0o700;

const isCode = (error: unknown, ...codes: string[]) =>
  codes.includes((error as NodeJS.ErrnoException)?.code ?? "");

/** Sorts like S3 lists: by the UTF-8 bytes of the key, a folder standing for every key under "name/". */
const byKeyOrder = (a: { sortName: string }, b: { sortName: string }) =>
  Buffer.compare(Buffer.from(a.sortName), Buffer.from(b.sortName));

/**
 * Blobs as files under `root/objects/<key>`, with content type and etag in `root/meta/<key>.json`.
 * Writes go to `root/tmp` and are renamed into place, so a blob is either absent or whole. One
 * difference from S3 remains: a key cannot be both an object and a folder ("a" and "a/b"); such a put
 * fails with ApiError conflict.
 */
export class LocalBlobStore implements BlobStore {
  readonly kind = "file";
  readonly root: string;
  readonly #objects: string;
  readonly #meta: string;
  readonly #tmp: string;
  readonly #publicBaseUrl: string;
  readonly #signingSecret: string;

  constructor(options: LocalBlobStoreOptions) {
    this.root = path.resolve(options.root);
    this.#objects = path.join(this.root, "objects");
    this.#meta = path.join(this.root, "meta");
    this.#tmp = path.join(this.root, "tmp");
    this.#publicBaseUrl = options.publicBaseUrl;
    this.#signingSecret = options.signingSecret;
  }

  #objectPath(key: string): string {
    return path.join(this.#objects, ...key.split("/"));
  }

  /**
   * The file holding a blob's bytes, for readers that need random access on this machine (no copy).
   * Writes replace the file by rename, so a reader that has it open keeps the version it opened.
   */
  filePath(key: string): string {
    assertValidKey(key);
    return this.#objectPath(key);
  }

  #metaPath(key: string): string {
    return `${path.join(this.#meta, ...key.split("/"))}.json`;
  }

  async put(
    key: string,
    received: BlobBody,
    options: { contentType?: string; size?: number } = {},
  ): Promise<BlobHead> {
    assertValidKey(key);
    const body = nodeBody(received);
    await mkdir(this.#tmp, { recursive: true, mode: PRIVATE_FOLDER });
    const tmpName = randomBytes(12).toString("hex");
    const dataTmp = path.join(this.#tmp, `${tmpName}.data`);
    const metaTmp = path.join(this.#tmp, `${tmpName}.json`);
    try {
      const { etag, ino } = await this.#writeData(dataTmp, body, options.size);
      const sidecar: Sidecar = { ino, etag, contentType: options.contentType };
      await writeFile(metaTmp, JSON.stringify(sidecar), { flag: "wx", flush: true, mode: PRIVATE_FILE });
      await this.#moveIntoPlace(key, dataTmp, this.#objectPath(key));
      await this.#moveIntoPlace(key, metaTmp, this.#metaPath(key));
    } finally {
      await Promise.all([unlink(dataTmp).catch(() => {}), unlink(metaTmp).catch(() => {})]);
    }
    const head = await this.head(key);
    if (!head) throw new ApiError("conflict", `The blob ${key} was deleted while it was being written.`);
    return head;
  }

  /** Streams the body into a new file, hashing it on the way; `flush` syncs it so a rename publishes whole bytes. */
  async #writeData(
    file: string,
    body: Readable | Uint8Array | string,
    declaredSize: number | undefined,
  ): Promise<{ etag: string; ino: string }> {
    const source = body instanceof Readable ? body : Readable.from([Buffer.from(body)]);
    const md5 = createHash("md5");
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        md5.update(chunk);
        callback(null, chunk);
      },
    });
    await pipeline(
      withDeclaredSize(source, declaredSize),
      hashing,
      createWriteStream(file, { flags: "wx", flush: true, mode: PRIVATE_FILE }),
    );
    const { ino } = await stat(file, { bigint: true });
    return { etag: `"${md5.digest("hex")}"`, ino: String(ino) };
  }

  /** Renames into place; retried because a concurrent delete may prune the freshly made parent folder. */
  async #moveIntoPlace(key: string, from: string, to: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await mkdir(path.dirname(to), { recursive: true, mode: PRIVATE_FOLDER });
        await rename(from, to);
        return;
      } catch (error) {
        if (isCode(error, "ENOENT") && attempt < 3) continue;
        if (isCode(error, "EEXIST", "ENOTDIR", "EISDIR", "ENOTEMPTY")) {
          throw new ApiError(
            "conflict",
            `The blob key ${key} clashes with another key: in the local store a key cannot be both an object and a folder of objects.`,
          );
        }
        throw error;
      }
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    assertValidKey(key);
    if (range) assertValidRange(range);
    let handle: FileHandle;
    try {
      handle = await open(this.#objectPath(key), "r");
    } catch (error) {
      if (isCode(error, "ENOENT", "ENOTDIR", "EISDIR")) throw notFound(key);
      throw error;
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw notFound(key);
      if (range && range.start >= info.size) throw rangeNotSatisfiable(range.start, info.size);
      return handle.createReadStream(
        range ? { start: range.start, end: Math.min(range.end, info.size - 1) } : {},
      );
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async head(key: string): Promise<BlobHead | null> {
    assertValidKey(key);
    return this.#headAt(key);
  }

  async #headAt(key: string): Promise<BlobHead | null> {
    let info: Awaited<ReturnType<typeof stat>> & { ino: bigint };
    try {
      info = await stat(this.#objectPath(key), { bigint: true });
    } catch (error) {
      if (isCode(error, "ENOENT", "ENOTDIR")) return null;
      throw error;
    }
    if (!info.isFile()) return null;
    const sidecar = await this.#readSidecar(key);
    const current = sidecar?.ino === String(info.ino) ? sidecar : undefined;
    return {
      key,
      size: Number(info.size),
      contentType: current?.contentType,
      etag: current?.etag,
      lastModified: new Date(Number(info.mtimeMs)),
    };
  }

  async #readSidecar(key: string): Promise<Sidecar | undefined> {
    try {
      return JSON.parse(await readFile(this.#metaPath(key), "utf8")) as Sidecar;
    } catch (error) {
      if (isCode(error, "ENOENT", "ENOTDIR") || error instanceof SyntaxError) return undefined;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    for (const [file, treeRoot] of [
      [this.#objectPath(key), this.#objects],
      [this.#metaPath(key), this.#meta],
    ] as const) {
      try {
        await unlink(file);
      } catch (error) {
        // A missing key (or one that is only a folder of other keys) is already deleted.
        if (!isCode(error, "ENOENT", "ENOTDIR", "EISDIR", "EPERM")) throw error;
      }
      await pruneEmptyFolders(path.dirname(file), treeRoot);
    }
  }

  async *list(prefix: string): AsyncIterable<BlobHead> {
    assertValidPrefix(prefix);
    const lastSlash = prefix.lastIndexOf("/");
    const folderKey = prefix.slice(0, lastSlash + 1);
    const namePrefix = prefix.slice(lastSlash + 1);
    yield* this.#walk(folderKey, namePrefix);
  }

  /** Depth-first in S3 key order; `namePrefix` filters only the first folder, where the prefix ends. */
  async *#walk(folderKey: string, namePrefix: string): AsyncGenerator<BlobHead> {
    let entries: { name: string; sortName: string; isFolder: boolean }[];
    try {
      const dirents = await readdir(path.join(this.#objects, ...folderKey.split("/")), {
        withFileTypes: true,
      });
      entries = dirents
        .filter((d) => d.name.startsWith(namePrefix) && (d.isFile() || d.isDirectory()))
        .map((d) => ({
          name: d.name,
          isFolder: d.isDirectory(),
          sortName: d.isDirectory() ? `${d.name}/` : d.name,
        }))
        .sort(byKeyOrder);
    } catch (error) {
      if (isCode(error, "ENOENT", "ENOTDIR")) return;
      throw error;
    }
    for (const entry of entries) {
      const key = `${folderKey}${entry.name}`;
      if (entry.isFolder) {
        yield* this.#walk(`${key}/`, "");
      } else {
        // Deleted since the folder was read: skip it, as a later listing would.
        const head = await this.#headAt(key);
        if (head) yield head;
      }
    }
  }

  async presignPut(
    key: string,
    options: { expiresInSeconds: number; maxBytes: number; contentType?: string },
  ): Promise<PresignedRequest> {
    assertValidKey(key);
    assertValidExpiry(options.expiresInSeconds);
    assertValidMaxBytes(options.maxBytes);
    const expires = expiryOf(options.expiresInSeconds);
    const url = await signLocalUrl(this.#signingSecret, this.#publicBaseUrl, {
      method: "PUT",
      key,
      expires,
      maxBytes: options.maxBytes,
      contentType: options.contentType,
    });
    const headers: Record<string, string> = options.contentType
      ? { "content-type": options.contentType }
      : {};
    return { url, method: "PUT", headers, expiresAt: new Date(expires * 1000) };
  }

  async presignGet(
    key: string,
    options: { expiresInSeconds: number; filename?: string },
  ): Promise<PresignedRequest> {
    assertValidKey(key);
    assertValidExpiry(options.expiresInSeconds);
    const expires = expiryOf(options.expiresInSeconds);
    const url = await signLocalUrl(this.#signingSecret, this.#publicBaseUrl, {
      method: "GET",
      key,
      expires,
      filename: options.filename,
    });
    return { url, method: "GET", headers: {}, expiresAt: new Date(expires * 1000) };
  }
}

/** Unix seconds, rounded up so a URL never lives shorter than asked. */
const expiryOf = (seconds: number) => Math.ceil(Date.now() / 1000) + seconds;

const notFound = (key: string) => new ApiError("not_found", `There is no blob ${key}.`);

/** Removes folders a delete left empty, up to the tree's root; a folder still in use stays. */
async function pruneEmptyFolders(folder: string, treeRoot: string): Promise<void> {
  for (let current = folder; current.startsWith(`${treeRoot}${path.sep}`); current = path.dirname(current)) {
    try {
      await rmdir(current);
    } catch {
      return;
    }
  }
}
