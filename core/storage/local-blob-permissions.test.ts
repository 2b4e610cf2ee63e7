import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { LocalBlobStore } from "./local-blob-store.ts";

let parent: string;
beforeEach(async () => {
  parent = await mkdtemp(path.join(os.tmpdir(), "mindeye-blob-modes-"));
});
afterEach(() => rm(parent, { recursive: true, force: true }));

it("keeps every blob file readable by its owner only (files 600, folders 700), whatever the umask", async () => {
  const previous = process.umask(0o002);
  try {
    const root = path.join(parent, "blobs");
    const store = new LocalBlobStore({
      root,
      publicBaseUrl: "http://api.test",
      signingSecret: "s".repeat(32),
    });
    await store.put("uploads/lab_a/upl_1", "betas", { contentType: "application/x-npy" });
    const modeOf = async (p: string) => (await stat(p)).mode & 0o777;
    for (const folder of [
      "",
      "objects",
      "objects/uploads",
      "objects/uploads/lab_a",
      "meta/uploads/lab_a",
      "tmp",
    ]) {
      expect(await modeOf(path.join(root, folder)), folder || "root").toBe(0o700);
    }
    expect(await modeOf(store.filePath("uploads/lab_a/upl_1"))).toBe(0o600);
    expect(await modeOf(path.join(root, "meta/uploads/lab_a/upl_1.json"))).toBe(0o600);
  } finally {
    process.umask(previous);
  }
});
