import type { BigIntStats } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { LocalVectorStore } from "./local-vector-store.ts";

// A stat that never changes: the worst case, a new manifest that reused a freed inode with the same size
// within one tick of the filesystem clock. The served index must still catch up within a second.
const frozen = vi.hoisted(() => ({ stats: null as BigIntStats | null }));
vi.mock("node:fs", async (original) => {
  const fs = await original<typeof import("node:fs")>();
  return {
    ...fs,
    statSync: ((file: string, options: object) =>
      frozen.stats ?? fs.statSync(file, options)) as typeof fs.statSync,
  };
});

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "mindeye-freshness-"));
});
afterEach(async () => {
  vi.useRealTimers();
  frozen.stats = null;
  await rm(root, { recursive: true, force: true });
});

it("sees another process's commit within a second even when the manifest's stat does not change", async () => {
  const ingest = new LocalVectorStore(root); // stands in for `mindeye ingest` in another process
  const server = new LocalVectorStore(root);
  const writer = await ingest.create("shared", { dim: 2, metric: "cosine" });
  await writer.upsert([{ id: 1, vector: [1, 0], payload: {} }]);
  await writer.flush();
  vi.useFakeTimers({ toFake: ["performance"] });
  expect(await (await server.open("shared")).count()).toBe(1);

  frozen.stats = (await import("node:fs")).statSync(path.join(root, "shared", "manifest.json"), {
    bigint: true,
  });
  await writer.upsert([{ id: 2, vector: [0, 1], payload: {} }]);
  await writer.flush();
  await server.open("shared");
  vi.advanceTimersByTime(1001);
  expect(await (await server.open("shared")).count()).toBe(2);
  await server.close();
  await ingest.close();
});
