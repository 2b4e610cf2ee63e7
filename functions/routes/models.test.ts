import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createHarness,
  type Harness,
  TEST_ORIGIN,
  TINY_BUNDLE,
  TINY_MODEL,
} from "../../test/helpers/harness.ts";

let h: Harness;
let key: string;
beforeAll(async () => {
  h = await createHarness();
  key = await h.keyFor("lab-models");
});
afterAll(() => h.close());

describe("GET /v1/models", () => {
  it("lists what each model accepts and produces", async () => {
    const res = await h.request("/v1/models", { key });
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as { data: Record<string, unknown>[] };
    expect(data).toEqual([
      expect.objectContaining({
        id: TINY_MODEL,
        family: "mindeye1",
        input: {
          voxels: 40,
          grid: [4, 5, 6],
          mask_url: `${TEST_ORIGIN}/v1/models/${TINY_MODEL}/mask`,
          training: {
            zscore: "session",
            session_trials: 750,
            voxel_mean: 0,
            voxel_std: 1,
            units: "percent signal change, stored x300 as int16",
          },
        },
        outputs: { backbone: { shape: [5, 16] }, retrieval: { shape: [5, 16] } },
        capabilities: {
          embeddings: true,
          retrieval: true,
          reconstruction: true,
          missing_for_reconstruction: [],
        },
      }),
    ]);
  });

  it("describes one model with the sha256 of every bundle file", async () => {
    const res = await h.request(`/v1/models/${TINY_MODEL}`, { key });
    const model = (await res.json()) as { hashes: Record<string, string> };
    const manifest = JSON.parse(await readFile(path.join(TINY_BUNDLE, "manifest.json"), "utf8"));
    expect(model.hashes).toEqual(manifest.files);
  });

  it("serves the mask as an .npy numpy reads back as the bundle's mask", async () => {
    const res = await h.request(`/v1/models/${TINY_MODEL}/mask`, { key });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-npy");
    const dir = await mkdtemp(path.join(os.tmpdir(), "mask-"));
    await writeFile(path.join(dir, "served.npy"), new Uint8Array(await res.arrayBuffer()));
    const same = execFileSync("/usr/bin/python3", [
      "-c",
      "import numpy as np, sys; a=np.load(sys.argv[1]); b=np.load(sys.argv[2]); print(a.dtype, a.shape, bool(((a>0)==(b>0)).all()))",
      path.join(dir, "served.npy"),
      path.join(TINY_BUNDLE, "mask.npy"),
    ]).toString();
    expect(same.trim()).toBe("uint8 (4, 5, 6) True");
  });

  it("answers an unknown model with 404 model_not_found naming the models served", async () => {
    const res = await h.request("/v1/models/nope", { key });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { code: string; detail: string };
    expect(body.code).toBe("model_not_found");
    expect(body.detail).toContain(TINY_MODEL);
  });

  it("requires an API key", async () => {
    expect((await h.request("/v1/models")).status).toBe(401);
  });
});
