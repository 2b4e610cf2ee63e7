import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeNpy, parseNpy, readNpy } from "../../core/npy/index.ts";
import { createHarness, type Harness, TINY_BUNDLE, TINY_MODEL } from "../../test/helpers/harness.ts";

let h: Harness;
let key: string;
let reference: {
  voxels: Awaited<ReturnType<typeof readNpy>>;
  backbone: Float32Array;
  retrieval: Float32Array;
};
beforeAll(async () => {
  h = await createHarness();
  key = await h.keyFor("lab-embed");
  const parity = path.join(TINY_BUNDLE, "parity/voxel2clip");
  reference = {
    voxels: await readNpy(path.join(parity, "voxels.npy")),
    backbone: (await readNpy(path.join(parity, "backbone.npy"))).data,
    retrieval: (await readNpy(path.join(parity, "retrieval.npy"))).data,
  };
});
afterAll(() => h.close());

const post0 = (path: string, body: unknown) =>
  h.request(path, {
    method: "POST",
    key,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
const post = (body: unknown, headers: Record<string, string> = {}) =>
  h.request("/v1/embeddings", {
    method: "POST",
    key,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
const nested = (data: Float32Array, rows: number) =>
  Array.from({ length: rows }, (_, i) =>
    Array.from(data.subarray((i * data.length) / rows, ((i + 1) * data.length) / rows)),
  );
const fromBase64 = (b64: string) => {
  const bytes = Buffer.from(b64, "base64");
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
};
type Body = {
  outputs: Record<string, { values?: number[][][]; base64?: string; shape?: number[] }>;
  timing: { batch_size: number };
};

describe("POST /v1/embeddings: the three input encodings reproduce PyTorch", () => {
  const outputs = ["backbone", "retrieval"];

  it("JSON numbers", async () => {
    const { voxels } = reference;
    const res = await post({
      model: TINY_MODEL,
      betas: { values: nested(voxels.data, voxels.shape[0]!) },
      outputs,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Body;
    expect(maxAbsDiff(body.outputs.backbone!.values!.flat(2), reference.backbone)).toBeLessThan(1e-4);
    expect(maxAbsDiff(body.outputs.retrieval!.values!.flat(2), reference.retrieval)).toBeLessThan(1e-4);
  });

  it("base64 float32", async () => {
    const { voxels } = reference;
    const b64 = Buffer.from(voxels.data.buffer, voxels.data.byteOffset, voxels.data.byteLength).toString(
      "base64",
    );
    const res = await post({
      model: TINY_MODEL,
      betas: { base64: b64, dtype: "float32", shape: voxels.shape },
      outputs,
      encoding: "base64",
    });
    const body = (await res.json()) as Body;
    expect(body.outputs.retrieval!.shape).toEqual([voxels.shape[0], 5, 16]);
    expect(maxAbsDiff(fromBase64(body.outputs.backbone!.base64!), reference.backbone)).toBeLessThan(1e-4);
    expect(maxAbsDiff(fromBase64(body.outputs.retrieval!.base64!), reference.retrieval)).toBeLessThan(1e-4);
  });

  it("an application/x-npy body, answered as .npy", async () => {
    const { voxels } = reference;
    const res = await h.request(`/v1/embeddings?model=${TINY_MODEL}&outputs=retrieval`, {
      method: "POST",
      key,
      headers: { "content-type": "application/x-npy", accept: "application/x-npy" },
      body: encodeNpy(voxels.data, voxels.shape),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-npy");
    const npy = parseNpy(Buffer.from(await res.arrayBuffer()));
    expect(npy.shape).toEqual([voxels.shape[0], 5, 16]);
    expect(maxAbsDiff(npy.data, reference.retrieval)).toBeLessThan(1e-4);
  });

  it("the three output encodings carry identical values", async () => {
    const betas = { values: nested(reference.voxels.data, reference.voxels.shape[0]!) };
    const asJson = (await (await post({ model: TINY_MODEL, betas })).json()) as Body;
    const asB64 = (await (await post({ model: TINY_MODEL, betas, encoding: "base64" })).json()) as Body;
    const asNpy = await post({ model: TINY_MODEL, betas, encoding: "npy" });
    const npy = parseNpy(Buffer.from(await asNpy.arrayBuffer()));
    const fromJson = Float32Array.from(asJson.outputs.retrieval!.values!.flat(2));
    expect(Array.from(fromBase64(asB64.outputs.retrieval!.base64!))).toEqual(Array.from(fromJson));
    expect(Array.from(npy.data)).toEqual(Array.from(fromJson));
  });
});

describe("POST /v1/embeddings: batching", () => {
  it("coalesces 32 concurrent single-trial requests, each equal to its unbatched result", async () => {
    const rows = Array.from({ length: 32 }, (_, i) =>
      Array.from({ length: 40 }, (_, j) => Math.sin(i * 40 + j)),
    );
    const alone: number[][] = [];
    for (const row of rows) {
      const body = (await (await post({ model: TINY_MODEL, betas: { values: [row] } })).json()) as Body;
      alone.push(body.outputs.retrieval!.values!.flat(2));
    }
    const together = (
      await Promise.all(rows.map((row) => post({ model: TINY_MODEL, betas: { values: [row] } })))
    ).map(async (r) => (await r.json()) as Body);
    const bodies = await Promise.all(together);
    expect(Math.max(...bodies.map((b) => b.timing.batch_size))).toBeGreaterThan(1);
    for (const [i, b] of bodies.entries()) {
      expect(maxAbsDiff(b.outputs.retrieval!.values!.flat(2), alone[i]!)).toBeLessThan(1e-5);
    }
  });
});

describe("POST /v1/embeddings: preprocessing", () => {
  it("applies and echoes z-scoring and repeat averaging", async () => {
    const rows = Array.from({ length: 60 }, (_, i) =>
      Array.from({ length: 40 }, (_, j) => (i + 1) * Math.cos(j + i)),
    );
    const res = await post({
      model: TINY_MODEL,
      betas: { values: rows },
      preprocessing: {
        zscore: "session",
        average: [
          [0, 1, 2],
          [3, 4, 5],
        ],
      },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Body & { trials: number; preprocessing: Record<string, unknown> };
    expect(body.trials).toBe(2);
    expect(body.preprocessing).toMatchObject({
      zscore: { kind: "session", trials: 60 },
      average: { groups: 2 },
      input_trials: 60,
    });
  });
});

describe("POST /v1/embeddings: from an upload", () => {
  it("embeds chosen trials of an uploaded volume, masked server-side and z-scored over the whole upload", async () => {
    const file = execFileSync("/usr/bin/python3", [
      "-c",
      `import nibabel as nib, numpy as np, tempfile, os
d = (np.arange(4*5*6*4, dtype=np.int16).reshape(4,5,6,4) % 97) * 3
p = os.path.join(tempfile.mkdtemp(), "s.nii.gz"); nib.save(nib.Nifti1Image(d, np.eye(4)), p); print(p)`,
    ])
      .toString()
      .trim();
    const bytes = new Uint8Array(await readFile(file));
    const created = await post0("/v1/uploads", { filename: "s.nii.gz", size: bytes.length });
    const { id, upload } = (await created.json()) as { id: string; upload: { url: string } };
    await h.app.request(upload.url, { method: "PUT", body: bytes });
    expect((await post0(`/v1/uploads/${id}/complete`, { model: TINY_MODEL })).status).toBe(200);

    const res = await post({ model: TINY_MODEL, betas: { upload_id: id, trials: [0, 2, 3] } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Body & { trials: number; preprocessing: Record<string, unknown> };
    expect(body.trials).toBe(3);
    expect(body.preprocessing).toMatchObject({ zscore: { kind: "session", trials: 4 }, input_trials: 3 });

    const wrongDataset = await post({ model: TINY_MODEL, betas: { upload_id: id, dataset: "/other" } });
    expect(wrongDataset.status).toBe(400);
    const outOfRange = await post({ model: TINY_MODEL, betas: { upload_id: id, trials: [9] } });
    expect(outOfRange.status).toBe(400);
  });
});

describe("POST /v1/embeddings: errors", () => {
  it("names the expected voxel count", async () => {
    const res = await post({ model: TINY_MODEL, betas: { values: [[1, 2, 3]] } });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { code: string; detail: string; expected_voxels: number };
    expect(body.code).toBe("voxel_count_mismatch");
    expect(body.expected_voxels).toBe(40);
    expect(body.detail).toContain("mask");
  });

  it("refuses NaN with how many and where", async () => {
    const row = Array.from({ length: 40 }, () => 0.5);
    const b64 = Buffer.from(
      Float32Array.from([...row.slice(0, 7), Number.NaN, ...row.slice(8)]).buffer,
    ).toString("base64");
    const res = await post({ model: TINY_MODEL, betas: { base64: b64, dtype: "float32", shape: [1, 40] } });
    expect(res.status).toBe(422);
    expect((await res.json()) as object).toMatchObject({ code: "non_finite_values" });
  });

  it("refuses an unknown model, a malformed body and an oversized one", async () => {
    expect((await post({ model: "nope", betas: { values: [[1]] } })).status).toBe(404);
    const bad = await post({ model: TINY_MODEL, betas: { values: "x" } });
    expect(bad.status).toBe(400);
    const huge = await h.request("/v1/embeddings", {
      method: "POST",
      key,
      headers: { "content-type": "application/json" },
      body: "x".repeat(33 * 1024 ** 2),
    });
    expect(huge.status).toBe(413);
  });

  it("refuses an .npy body above the synchronous trial limit, pointing to uploads and jobs", async () => {
    const data = new Float32Array(65 * 40).fill(0.1);
    const res = await h.request(`/v1/embeddings?model=${TINY_MODEL}`, {
      method: "POST",
      key,
      headers: { "content-type": "application/x-npy" },
      body: encodeNpy(data, [65, 40]),
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { code: string; detail: string };
    expect(body.code).toBe("sync_limit_exceeded");
    expect(body.detail).toContain("upload_id");
  });
});

describe("POST /v1/embeddings: security", () => {
  it("requires a key, and another lab's upload is not found", async () => {
    const anonymous = await h.request("/v1/embeddings", { method: "POST", body: "{}" });
    expect(anonymous.status).toBe(401);
    const other = await h.keyFor("lab-embed-other");
    const created = await h.request("/v1/uploads", {
      method: "POST",
      key: other,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ filename: "x.npy", size: 10 }),
    });
    const { id } = (await created.json()) as { id: string };
    const res = await post({ model: TINY_MODEL, betas: { upload_id: id } });
    expect(res.status).toBe(404);
  });
});
