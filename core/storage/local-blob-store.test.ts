import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../contracts/errors.ts";
import { LocalBlobStore } from "./local-blob-store.ts";
import { verifyLocalPresignedUrl } from "./local-presigned-url.ts";
import { startLocalBlobServer } from "./test-support/local-blob-server.ts";

const SECRET = "local-test-secret-of-32-characters!!";

let root: string;
let store: LocalBlobStore;
let closeServer: () => Promise<void>;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "mindeye-local-blobs-"));
  const served = await startLocalBlobServer(root, SECRET);
  store = served.store;
  closeServer = served.close;
});
afterEach(async () => {
  await closeServer();
  await rm(root, { recursive: true, force: true });
});

async function refusal(call: () => Promise<unknown>): Promise<ApiError> {
  try {
    await call();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error("expected the call to throw");
}

function withParam(url: string, name: string, value: string): string {
  const changed = new URL(url);
  changed.searchParams.set(name, value);
  return changed.toString();
}

async function problemOf(response: Response): Promise<{ status: number; code: string }> {
  return { status: response.status, code: ((await response.json()) as { code: string }).code };
}

// s3rver checks no signatures, so these run against the local adapter only.
describe("local presigned URLs (local adapter only: s3rver does not check signatures)", () => {
  it("grant exactly what was signed", async () => {
    const put = await store.presignPut("uploads/u1/f.npy", {
      expiresInSeconds: 60,
      maxBytes: 1234,
      contentType: "application/x-npy",
    });
    expect(put.headers).toEqual({ "content-type": "application/x-npy" });
    expect(await verifyLocalPresignedUrl(SECRET, "PUT", new URL(put.url))).toMatchObject({
      key: "uploads/u1/f.npy",
      maxBytes: 1234,
      contentType: "application/x-npy",
    });
    const get = await store.presignGet("outputs/j/recon 1.png", {
      expiresInSeconds: 60,
      filename: "recon.png",
    });
    expect(await verifyLocalPresignedUrl(SECRET, "GET", new URL(get.url))).toMatchObject({
      key: "outputs/j/recon 1.png",
      contentDisposition: `attachment; filename="recon.png"; filename*=UTF-8''recon.png`,
    });
  });

  it("live under the public base URL, path prefix included", async () => {
    const behindStage = new LocalBlobStore({
      root,
      publicBaseUrl: "https://api.example.org/prod/",
      signingSecret: SECRET,
    });
    const put = await behindStage.presignPut("a/b", { expiresInSeconds: 60, maxBytes: 1 });
    expect(put.url.startsWith("https://api.example.org/prod/v1/blobs/a/b?")).toBe(true);
    expect((await verifyLocalPresignedUrl(SECRET, "PUT", new URL(put.url))).key).toBe("a/b");
  });

  it("refuse a tampered signature, size limit, content type or key with 403 invalid_signature", async () => {
    const put = await store.presignPut("uploads/mine", {
      expiresInSeconds: 60,
      maxBytes: 10,
      contentType: "text/plain",
    });
    const signature = new URL(put.url).searchParams.get("X-Mindeye-Signature")!;
    const flipped = `${signature.slice(0, -1)}${signature.endsWith("0") ? "1" : "0"}`;
    const tampered = [
      withParam(put.url, "X-Mindeye-Signature", flipped),
      withParam(put.url, "X-Mindeye-Max-Bytes", "1000000"),
      withParam(put.url, "X-Mindeye-Content-Type", "text/html"),
      put.url.replace("/v1/blobs/uploads/mine", "/v1/blobs/uploads/theirs"),
      withParam(put.url, "X-Mindeye-Signature", ""),
    ];
    for (const url of tampered) {
      const response = await fetch(url, { method: "PUT", body: "0123456789" });
      expect(await problemOf(response)).toEqual({ status: 403, code: "invalid_signature" });
    }
    expect(await store.head("uploads/mine")).toBeNull();
    expect(await store.head("uploads/theirs")).toBeNull();
  });

  it("refuse a URL signed with another secret", async () => {
    const other = new LocalBlobStore({
      root,
      publicBaseUrl: "http://x",
      signingSecret: "another-secret-of-32-characters!!!!",
    });
    const get = await other.presignGet("k", { expiresInSeconds: 60 });
    expect((await refusal(() => verifyLocalPresignedUrl(SECRET, "GET", new URL(get.url)))).code).toBe(
      "invalid_signature",
    );
  });

  it("refuse a URL used with the other method", async () => {
    await store.put("k", "secret bytes");
    const put = await store.presignPut("k", { expiresInSeconds: 60, maxBytes: 5 });
    expect(await problemOf(await fetch(put.url))).toEqual({ status: 403, code: "invalid_signature" });
    const get = await store.presignGet("k", { expiresInSeconds: 60 });
    const overwrite = await fetch(get.url, { method: "PUT", body: "evil" });
    expect(await problemOf(overwrite)).toEqual({ status: 403, code: "invalid_signature" });
    expect((await buffer(await store.get("k"))).toString()).toBe("secret bytes");
  });

  it("refuse an expired URL, and accept it until the moment it expires", async () => {
    const get = await store.presignGet("k", { expiresInSeconds: 60 });
    const url = new URL(get.url);
    const justBefore = new Date(get.expiresAt.getTime() - 1);
    expect((await verifyLocalPresignedUrl(SECRET, "GET", url, justBefore)).key).toBe("k");
    const error = await refusal(() => verifyLocalPresignedUrl(SECRET, "GET", url, get.expiresAt));
    expect(error.code).toBe("invalid_signature");
    expect(error.status).toBe(403);
    expect(error.message).toMatch(/expired/);
  });
});

describe("local adapter", () => {
  it("refuses a PUT larger than its URL allows, declared or streamed, and stores nothing", async () => {
    const put = await store.presignPut("uploads/small", { expiresInSeconds: 60, maxBytes: 1000 });
    const declared = await fetch(put.url, { method: "PUT", body: randomBytes(1001) });
    expect(await problemOf(declared)).toEqual({ status: 413, code: "payload_too_large" });
    const streamed = await fetch(put.url, {
      method: "PUT",
      body: Readable.toWeb(Readable.from([randomBytes(600), randomBytes(600)])) as ReadableStream,
      duplex: "half",
    } as RequestInit);
    expect(await problemOf(streamed)).toEqual({ status: 413, code: "payload_too_large" });
    expect(await store.head("uploads/small")).toBeNull();
    expect(await readdir(path.join(root, "tmp"))).toEqual([]);
  });

  it("lists in S3's byte order, where 'a.b' comes before the keys under 'a/'", async () => {
    for (const key of ["a/1", "a.b", "a0", "a/0/z"]) await store.put(key, key);
    const keys: string[] = [];
    for await (const head of store.list("a")) keys.push(head.key);
    expect(keys).toEqual(["a.b", "a/0/z", "a/1", "a0"]);
  });

  it("reads the single first byte with the range 0-0", async () => {
    await store.put("r", "xyz");
    expect((await buffer(await store.get("r", { start: 0, end: 0 }))).toString()).toBe("x");
  });

  it("refuses a key that is already a folder of keys, or under an object, with conflict", async () => {
    await store.put("runs/1/out", "kept");
    expect((await store.put("runs/1", "x").catch((e: ApiError) => e)) as ApiError).toMatchObject({
      code: "conflict",
    });
    expect((await store.put("runs/1/out/deeper", "x").catch((e: ApiError) => e)) as ApiError).toMatchObject({
      code: "conflict",
    });
    expect((await buffer(await store.get("runs/1/out"))).toString()).toBe("kept");
    expect(await readdir(path.join(root, "tmp"))).toEqual([]);
  });

  it("keeps a blob's bytes as a plain file under objects/, and removes emptied folders on delete", async () => {
    await store.put("uploads/u9/data.bin", "plain");
    expect(await readdir(path.join(root, "objects", "uploads", "u9"))).toEqual(["data.bin"]);
    await store.delete("uploads/u9/data.bin");
    expect(await readdir(path.join(root, "objects"))).toEqual([]);
    expect(await readdir(path.join(root, "meta"))).toEqual([]);
  });
});
