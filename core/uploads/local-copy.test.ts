import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningS3rver, startS3rver } from "../../test/helpers/s3rver.ts";
import { LocalBlobStore } from "../storage/local-blob-store.ts";
import { S3BlobStore } from "../storage/s3-blob-store.ts";
import { removeStaleLocalCopies, withLocalCopy } from "./local-copy.ts";

let scratch: string;
let s3rver: RunningS3rver;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), "mindeye-copy-test-"));
  s3rver = await startS3rver();
});
afterAll(async () => {
  await s3rver.close();
  await rm(scratch, { recursive: true, force: true });
});

const copiesOfThisProcess = async () =>
  (await readdir(os.tmpdir())).filter((n) => n.startsWith(`mindeye-upload-${process.pid}-`));

describe("reading an upload's file", () => {
  it("reads the local folder store's file in place, making no copy", async () => {
    const store = new LocalBlobStore({
      root: path.join(scratch, "blobs"),
      publicBaseUrl: "http://api.test",
      signingSecret: "s".repeat(32),
    });
    await store.put("uploads/lab/upl_1", "voxels");
    const seen = await withLocalCopy(store, "uploads/lab/upl_1", async (file) => {
      expect(await copiesOfThisProcess()).toEqual([]);
      return { file, bytes: await readFile(file, "utf8") };
    });
    expect(seen).toEqual({ file: store.filePath("uploads/lab/upl_1"), bytes: "voxels" });
  });

  it("copies an S3 blob to a private temp file and removes it afterwards", async () => {
    const store = new S3BlobStore({
      url: `s3://${s3rver.bucket}/copy-test/`,
      region: "us-east-1",
      endpoint: s3rver.endpoint,
      credentials: s3rver.credentials,
    });
    await store.put("uploads/lab/upl_2", "from s3");
    const bytes = await withLocalCopy(store, "uploads/lab/upl_2", async (file) => {
      expect(await copiesOfThisProcess()).toHaveLength(1);
      return readFile(file, "utf8");
    });
    expect(bytes).toBe("from s3");
    expect(await copiesOfThisProcess()).toEqual([]);
    store.client.destroy();
  });

  it("removes at start the copies a dead process left, and only those", async () => {
    const tmp = path.join(scratch, "tmp");
    // A pid that surely ended: a child that has exited.
    const dead = spawnSync(process.execPath, [
      "-e",
      "process.stdout.write(String(process.pid))",
    ]).stdout.toString();
    const left = path.join(tmp, `mindeye-upload-${dead}-abc123`);
    const live = path.join(tmp, `mindeye-upload-${process.pid}-def456`);
    const unrelated = path.join(tmp, "someone-elses-folder");
    for (const folder of [left, live, unrelated]) {
      await mkdir(folder, { recursive: true });
      await writeFile(path.join(folder, "data"), "betas");
    }
    expect(await removeStaleLocalCopies(tmp)).toEqual([path.basename(left)]);
    expect((await readdir(tmp)).sort()).toEqual([path.basename(live), "someone-elses-folder"].sort());
  });
});
