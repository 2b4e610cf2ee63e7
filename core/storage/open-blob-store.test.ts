import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningS3rver, startS3rver } from "../../test/helpers/s3rver.ts";
import { ConfigError } from "../config.ts";
import { openBlobStore } from "./open-blob-store.ts";
import { S3BlobStore } from "./s3-blob-store.ts";

const base = {
  publicBaseUrl: "http://127.0.0.1:8787",
  signingSecret: "factory-test-secret-of-32-characters",
};
let dataDir: string;
let s3rver: RunningS3rver;
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "mindeye-open-blobs-"));
  s3rver = await startS3rver();
});
afterAll(async () => {
  await s3rver?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe("openBlobStore", () => {
  it("uses <dataDir>/blobs when BLOB_STORE is unset", async () => {
    const store = await openBlobStore({ ...base, dataDir });
    expect(store.kind).toBe("file");
    await store.put("a/b", "x");
    expect(await readdir(path.join(dataDir, "blobs", "objects", "a"))).toEqual(["b"]);
  });

  it("uses the folder a file:// URL names", async () => {
    const folder = path.join(dataDir, "elsewhere");
    const store = await openBlobStore({ ...base, dataDir, blobStoreUrl: pathToFileURL(folder).toString() });
    await store.put("k", "x");
    expect(await readdir(path.join(folder, "objects"))).toEqual(["k"]);
  });

  it("uses S3 for an s3:// URL, at S3_ENDPOINT", async () => {
    const store = await openBlobStore({
      ...base,
      dataDir,
      blobStoreUrl: `s3://${s3rver.bucket}/factory`,
      s3Endpoint: s3rver.endpoint,
      region: "eu-west-1",
    });
    expect(store).toBeInstanceOf(S3BlobStore);
    const s3 = store as S3BlobStore;
    expect({ bucket: s3.bucket, keyPrefix: s3.keyPrefix }).toEqual({
      bucket: s3rver.bucket,
      keyPrefix: "factory/",
    });
    expect(await s3.client.config.region()).toBe("eu-west-1");
    s3.client.destroy();
  });

  it("refuses another scheme", async () => {
    await expect(openBlobStore({ ...base, dataDir, blobStoreUrl: "gs://bucket/x" })).rejects.toThrow(
      ConfigError,
    );
  });
});
