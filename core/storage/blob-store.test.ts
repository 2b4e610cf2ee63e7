import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RunningS3rver, startS3rver } from "../../test/helpers/s3rver.ts";
import { ApiError } from "../contracts/errors.ts";
import type { BlobHead, BlobStore } from "./blob-store.ts";
import { S3BlobStore } from "./s3-blob-store.ts";
import { startLocalBlobServer } from "./test-support/local-blob-server.ts";

interface OpenedStore {
  store: BlobStore;
  close(): Promise<void>;
}

let s3rver: RunningS3rver;
beforeAll(async () => {
  s3rver = await startS3rver();
});
afterAll(async () => {
  await s3rver?.close();
});

const backends: { name: string; open(): Promise<OpenedStore> }[] = [
  {
    name: "local folder",
    async open() {
      const root = await mkdtemp(path.join(os.tmpdir(), "mindeye-blobs-"));
      const served = await startLocalBlobServer(root, "contract-test-secret-of-32-characters!");
      return {
        store: served.store,
        close: async () => {
          await served.close();
          await rm(root, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: "S3 (s3rver)",
    async open() {
      // A fresh key prefix per test keeps the tests apart in the one bucket; small pages exercise paging.
      const store = new S3BlobStore({
        url: `s3://${s3rver.bucket}/run-${randomBytes(4).toString("hex")}`,
        region: "us-east-1",
        endpoint: s3rver.endpoint,
        credentials: s3rver.credentials,
        listPageSize: 2,
      });
      return { store, close: async () => store.client.destroy() };
    },
  },
];

/** A stream of `bytes` in uneven chunks, with no length known up front, as an HTTP body arrives. */
function chunked(bytes: Buffer, chunkSize = 64 * 1024 + 7): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) chunks.push(bytes.subarray(at, at + chunkSize));
  return Readable.from(chunks);
}

/** A stream that sends some bytes, then fails, like a client that drops mid-upload. */
function failingAfter(bytes: Buffer): Readable {
  return Readable.from(
    (async function* () {
      yield bytes;
      throw new Error("client went away");
    })(),
  );
}

const md5Etag = (bytes: Buffer) => `"${createHash("md5").update(bytes).digest("hex")}"`;

async function collect(iterable: AsyncIterable<BlobHead>): Promise<BlobHead[]> {
  const out: BlobHead[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe.each(backends)("BlobStore contract: $name", (backend) => {
  let opened: OpenedStore;
  let store: BlobStore;
  beforeEach(async () => {
    opened = await backend.open();
    store = opened.store;
  });
  afterEach(async () => {
    await opened.close();
  });

  it("streams a few megabytes of unknown length up and back byte for byte", async () => {
    const bytes = randomBytes(5 * 1024 * 1024 + 123);
    const put = await store.put("uploads/u1/betas.npy", chunked(bytes), { contentType: "application/x-npy" });
    expect(put).toMatchObject({ key: "uploads/u1/betas.npy", size: bytes.length, etag: md5Etag(bytes) });
    const back = await buffer(await store.get("uploads/u1/betas.npy"));
    expect(back.equals(bytes)).toBe(true);
  });

  it("stores bytes and strings, with their declared size and content type", async () => {
    await store.put("a.bin", new Uint8Array([1, 2, 3]), { size: 3 });
    await store.put("b.json", '{"ok":true}', { contentType: "application/json" });
    expect((await buffer(await store.get("a.bin"))).equals(Buffer.from([1, 2, 3]))).toBe(true);
    expect((await buffer(await store.get("b.json"))).toString()).toBe('{"ok":true}');
    expect(await store.head("b.json")).toMatchObject({ size: 11, contentType: "application/json" });
  });

  it("reports head: size, content type, etag and modification time; null when absent", async () => {
    const before = Date.now() - 2000;
    const bytes = Buffer.from("hello, voxels");
    await store.put("outputs/j1/result.json", bytes, { contentType: "text/plain" });
    const head = await store.head("outputs/j1/result.json");
    expect(head).toMatchObject({
      key: "outputs/j1/result.json",
      size: bytes.length,
      contentType: "text/plain",
    });
    expect(head?.etag).toBe(md5Etag(bytes));
    expect(head?.lastModified?.getTime()).toBeGreaterThanOrEqual(before);
    expect(head?.lastModified?.getTime()).toBeLessThanOrEqual(Date.now() + 2000);
    expect(await store.head("outputs/j1/missing.json")).toBeNull();
    expect(await store.head("outputs")).toBeNull();
  });

  it("replaces an object that is put again", async () => {
    await store.put("k", "first version");
    await store.put("k", "second", { contentType: "text/plain" });
    expect((await buffer(await store.get("k"))).toString()).toBe("second");
    expect(await store.head("k")).toMatchObject({ size: 6, contentType: "text/plain" });
  });

  it("reads inclusive byte ranges, clamps a range past the end, refuses one that starts past it", async () => {
    const bytes = randomBytes(1000);
    await store.put("r.bin", bytes);
    expect(
      (await buffer(await store.get("r.bin", { start: 10, end: 19 }))).equals(bytes.subarray(10, 20)),
    ).toBe(true);
    expect((await buffer(await store.get("r.bin", { start: 0, end: 3 }))).equals(bytes.subarray(0, 4))).toBe(
      true,
    );
    expect(
      (await buffer(await store.get("r.bin", { start: 999, end: 999 }))).equals(bytes.subarray(999)),
    ).toBe(true);
    expect(
      (await buffer(await store.get("r.bin", { start: 990, end: 5000 }))).equals(bytes.subarray(990)),
    ).toBe(true);
    expect((await rejection(store.get("r.bin", { start: 1000, end: 1010 }))).code).toBe("invalid_request");
    expect((await rejection(store.get("r.bin", { start: 5, end: 4 }))).code).toBe("invalid_request");
  });

  it("answers not_found for a missing object", async () => {
    const error = await rejection(store.get("nothing/here"));
    expect(error.code).toBe("not_found");
    expect(error.status).toBe(404);
  });

  it("deletes, and deleting again (or something never stored) is not an error", async () => {
    await store.put("d/x", "bye");
    await store.delete("d/x");
    expect(await store.head("d/x")).toBeNull();
    expect((await rejection(store.get("d/x"))).code).toBe("not_found");
    await store.delete("d/x");
    await store.delete("never/stored");
    expect(await collect(store.list(""))).toEqual([]);
  });

  // No key here sorts between "x" and "x/..." (like "x.y"): s3rver walks folders instead of sorting keys,
  // so it lists those out of S3's byte order and its paging skips them. The local test covers that order.
  it("lists every object under a prefix, recursively, in key order, across pages", async () => {
    const keys = ["uploads/b/3", "uploads/a/2", "outputs/x", "uploads/ab", "uploads/a/1", "uploads/a/1x"];
    for (const key of keys) await store.put(key, key);
    const keysOf = async (prefix: string) => (await collect(store.list(prefix))).map((h) => h.key);
    expect(await keysOf("uploads/a")).toEqual(["uploads/a/1", "uploads/a/1x", "uploads/a/2", "uploads/ab"]);
    expect(await keysOf("uploads/a/")).toEqual(["uploads/a/1", "uploads/a/1x", "uploads/a/2"]);
    expect(await keysOf("")).toEqual([...keys].sort());
    expect(await keysOf("none/")).toEqual([]);
    const [first] = await collect(store.list("outputs/"));
    expect(first).toMatchObject({ key: "outputs/x", size: 9, etag: md5Etag(Buffer.from("outputs/x")) });
  });

  it("leaves nothing visible, and an older version intact, when a put fails midway", async () => {
    await store.put("partial", "the old version");
    const error = await promiseError(store.put("partial", failingAfter(randomBytes(300_000))));
    expect(error.message).toMatch(/client went away/);
    expect((await buffer(await store.get("partial"))).toString()).toBe("the old version");
    await promiseError(store.put("fresh", failingAfter(randomBytes(1000))));
    expect(await store.head("fresh")).toBeNull();
  });

  it("refuses a body whose length differs from the declared size, storing nothing", async () => {
    expect((await rejection(store.put("s1", chunked(randomBytes(100)), { size: 99 }))).code).toBe(
      "invalid_request",
    );
    expect((await rejection(store.put("s2", chunked(randomBytes(100)), { size: 101 }))).code).toBe(
      "invalid_request",
    );
    expect((await rejection(store.put("s3", Buffer.alloc(5), { size: 4 }))).code).toBe("invalid_request");
    expect(await collect(store.list(""))).toEqual([]);
  });

  it.each(["../escape", "/etc/passwd", "a\\b", "a//b", "a/./b", "a/", ""])(
    "refuses the key %j with invalid_request",
    async (key) => {
      for (const call of [
        store.put(key, "x"),
        store.get(key),
        store.head(key),
        store.delete(key),
        store.presignGet(key, { expiresInSeconds: 60 }),
        store.presignPut(key, { expiresInSeconds: 60, maxBytes: 1 }),
      ]) {
        expect((await rejection(call)).code).toBe("invalid_request");
      }
    },
  );

  it("refuses a list prefix that climbs out with '..'", async () => {
    expect((await rejection(collect(store.list("../")))).code).toBe("invalid_request");
  });

  it("presigns a PUT a client can upload to over HTTP, and a GET it can download with", async () => {
    const key = "uploads/u 2/scan #1 ü?.npy";
    const bytes = randomBytes(300_000);
    const put = await store.presignPut(key, {
      expiresInSeconds: 600,
      maxBytes: bytes.length,
      contentType: "application/x-npy",
    });
    expect(put.method).toBe("PUT");
    expect(Math.abs(put.expiresAt.getTime() - (Date.now() + 600_000))).toBeLessThan(3000);
    const uploaded = await fetch(put.url, { method: "PUT", headers: put.headers, body: bytes });
    expect(uploaded.status).toBe(200);
    expect(await store.head(key)).toMatchObject({ size: bytes.length, contentType: "application/x-npy" });

    const get = await store.presignGet(key, { expiresInSeconds: 600, filename: "scan 1 ü.npy" });
    const downloaded = await fetch(get.url, { headers: get.headers });
    expect(downloaded.status).toBe(200);
    expect(downloaded.headers.get("content-disposition")).toContain("filename*=UTF-8''scan%201%20%C3%BC.npy");
    expect(Buffer.from(await downloaded.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it("presigned URLs stop working once they expire", async () => {
    await store.put("short/lived", "soon gone");
    const get = await store.presignGet("short/lived", { expiresInSeconds: 1 });
    expect((await fetch(get.url)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect((await fetch(get.url)).status).toBe(403);
  });

  it("refuses presign lifetimes outside 1 s to 7 days and negative size limits", async () => {
    for (const call of [
      store.presignGet("k", { expiresInSeconds: 0 }),
      store.presignGet("k", { expiresInSeconds: 7 * 24 * 3600 + 1 }),
      store.presignPut("k", { expiresInSeconds: 1.5, maxBytes: 1 }),
      store.presignPut("k", { expiresInSeconds: 60, maxBytes: -1 }),
    ]) {
      expect((await rejection(call)).code).toBe("invalid_request");
    }
  });
});

async function promiseError(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}
