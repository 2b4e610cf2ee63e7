import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningS3rver, startS3rver } from "../../test/helpers/s3rver.ts";
import { ConfigError } from "../config.ts";
import { ApiError } from "../contracts/errors.ts";
import { S3BlobStore } from "./s3-blob-store.ts";
import { parseS3Url } from "./s3-location.ts";

let s3rver: RunningS3rver;
const stores: S3BlobStore[] = [];
beforeAll(async () => {
  s3rver = await startS3rver();
});
afterAll(async () => {
  for (const store of stores) store.client.destroy();
  await s3rver?.close();
});

function storeAt(url: string): S3BlobStore {
  const store = new S3BlobStore({
    url,
    region: "us-east-1",
    endpoint: s3rver.endpoint,
    credentials: s3rver.credentials,
  });
  stores.push(store);
  return store;
}

describe("S3 adapter", () => {
  it("keeps every object under its key prefix", async () => {
    await storeAt(`s3://${s3rver.bucket}/tenant-a/blobs/`).put("x/y", "hi");
    const keys: string[] = [];
    for await (const head of storeAt(`s3://${s3rver.bucket}`).list("tenant-a/")) keys.push(head.key);
    expect(keys).toEqual(["tenant-a/blobs/x/y"]);
  });

  // s3rver checks no signatures, so what S3 would enforce is checked on the URL itself.
  it("signs Content-Length and Content-Type into a presigned PUT, so S3 refuses another size or type", async () => {
    const store = storeAt(`s3://${s3rver.bucket}/signed`);
    const put = await store.presignPut("u/f.npy", {
      expiresInSeconds: 900,
      maxBytes: 4096,
      contentType: "application/x-npy",
    });
    const url = new URL(put.url);
    expect(url.searchParams.get("X-Amz-SignedHeaders")?.split(";")).toEqual([
      "content-length",
      "content-type",
      "host",
    ]);
    expect(url.searchParams.get("X-Amz-Expires")).toBe("900");
    expect(put.headers).toEqual({ "content-length": "4096", "content-type": "application/x-npy" });
    // No checksum parameter a plain HTTP client could not supply.
    expect([...url.searchParams.keys()].filter((k) => /checksum/i.test(k))).toEqual([]);
  });

  it("uploads a stream longer than one part in parts, and reads it back whole", async () => {
    const store = storeAt(`s3://${s3rver.bucket}/multipart`);
    const bytes = randomBytes(17 * 1024 * 1024 + 5);
    const chunks = [bytes.subarray(0, 6e6), bytes.subarray(6e6, 12e6), bytes.subarray(12e6)];
    const head = await store.put("big.bin", Readable.from(chunks), {
      contentType: "application/octet-stream",
    });
    expect(head.size).toBe(bytes.length);
    expect((await buffer(await store.get("big.bin"))).equals(bytes)).toBe(true);
  });

  it("answers upstream_unavailable when S3 cannot be reached", async () => {
    const unreachable = new S3BlobStore({
      url: "s3://nowhere-bucket",
      region: "us-east-1",
      endpoint: "http://127.0.0.1:9",
      credentials: s3rver.credentials,
    });
    stores.push(unreachable);
    const error = await unreachable.head("k").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: "upstream_unavailable", status: 502 });
  });
});

describe("parseS3Url", () => {
  it("reads the bucket and a normalised key prefix", () => {
    expect(parseS3Url("s3://my-bucket")).toEqual({ bucket: "my-bucket", keyPrefix: "" });
    expect(parseS3Url("s3://my-bucket/")).toEqual({ bucket: "my-bucket", keyPrefix: "" });
    expect(parseS3Url("s3://my-bucket/a/b")).toEqual({ bucket: "my-bucket", keyPrefix: "a/b/" });
    expect(parseS3Url("s3://my-bucket/a/b/")).toEqual({ bucket: "my-bucket", keyPrefix: "a/b/" });
  });

  it.each(["s3://ab", "s3://Has_Upper", "file:///tmp/x", "s3://bucket/a//b"])("refuses %s", (url) => {
    expect(() => parseS3Url(url)).toThrow(ConfigError);
  });
});
