import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness, TINY_MODEL } from "../../test/helpers/harness.ts";
import {
  FORMATS_DIR,
  groundTruth,
  needsSharedFixtures,
  sharedFixturesMissing,
} from "../../test/helpers/shared-fixtures.ts";

let h: Harness;
let key: string;
beforeAll(async () => {
  h = await createHarness();
  key = await h.keyFor("lab-uploads");
});
afterAll(() => h.close());

const json = (body: unknown) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

/** create -> PUT -> (optionally) complete, as a lab's client would. */
async function upload(bytes: Uint8Array, filename: string, asKey = key) {
  const created = await h.request("/v1/uploads", { ...json({ filename, size: bytes.length }), key: asKey });
  expect(created.status).toBe(201);
  const body = (await created.json()) as {
    id: string;
    upload: { url: string; method: string; headers: Record<string, string> };
  };
  const put = await h.app.request(body.upload.url, {
    method: "PUT",
    body: bytes,
    headers: body.upload.headers,
  });
  expect(put.status).toBe(200);
  return body.id;
}

const labId = async () => ((await (await h.request("/v1/lab", { key })).json()) as { id: string }).id;

const complete = (id: string, options: object = {}, asKey = key) =>
  h.request(`/v1/uploads/${id}/complete`, { ...json(options), key: asKey });

describe("uploads: happy path", () => {
  it.skipIf(sharedFixturesMissing)(
    needsSharedFixtures("reads a real NIfTI-1 file and reports what nibabel reports"),
    async () => {
      const truth = groundTruth()["example4d.nii.gz"]!;
      const id = await upload(
        new Uint8Array(await readFile(path.join(FORMATS_DIR, "example4d.nii.gz"))),
        "example4d.nii.gz",
      );
      const res = await complete(id);
      expect(res.status).toBe(200);
      const summary = (await res.json()) as Record<string, unknown> & { stats: Record<string, number> };
      expect(summary).toMatchObject({
        id,
        status: "ready",
        format: "nifti1",
        dtype: "<i2",
        shape: truth.shape,
        trials: 2,
      });
      expect(summary.stats.sum).toBeCloseTo(truth.scaled!.sum, 0);
      expect(summary.stats.mean).toBeCloseTo(truth.scaled!.mean, 6);
      expect(summary.stats.min).toBe(truth.scaled!.min);
      expect(summary.stats.max).toBe(truth.scaled!.max);
      expect(summary.stats.nan_count).toBe(0);
      const again = (await (await h.request(`/v1/uploads/${id}`, { key })).json()) as Record<string, unknown>;
      expect(again).toMatchObject({ status: "ready", format: "nifti1", trials: 2 });
    },
  );

  it("counts the voxels a model would take from a volume on its grid", async () => {
    const file = execFileSync("/usr/bin/python3", [
      "-c",
      `import nibabel as nib, numpy as np, sys, tempfile, os
d = np.arange(4*5*6*3, dtype=np.int16).reshape(4,5,6,3)
img = nib.Nifti1Image(d, np.eye(4))
p = os.path.join(tempfile.mkdtemp(), "s.nii.gz"); nib.save(img, p); print(p)`,
    ])
      .toString()
      .trim();
    const id = await upload(new Uint8Array(await readFile(file)), "session.nii.gz");
    const res = await complete(id, { model: TINY_MODEL });
    expect(res.status).toBe(200);
    expect((await res.json()) as object).toMatchObject({
      trials: 3,
      grid: [4, 5, 6],
      voxels: 40,
      model: TINY_MODEL,
    });
  });
});

describe("uploads: errors", () => {
  it("refuses to inspect before the file was PUT", async () => {
    const created = await h.request("/v1/uploads", { ...json({ filename: "a.npy", size: 10 }), key });
    const { id } = (await created.json()) as { id: string };
    const res = await complete(id);
    expect(res.status).toBe(409);
    expect((await res.json()) as object).toMatchObject({ code: "upload_not_ready" });
  });

  it.skipIf(sharedFixturesMissing)(
    needsSharedFixtures("refuses surface data with what to send instead"),
    async () => {
      const id = await upload(
        new Uint8Array(await readFile(path.join(FORMATS_DIR, "task.func.gii"))),
        "task.func.gii",
      );
      const res = await complete(id);
      expect(res.status).toBe(415);
      const body = (await res.json()) as { code: string; detail: string };
      expect(body.code).toBe("unsupported_format");
      expect(body.detail).toMatch(/GIFTI/i);
    },
  );

  it.skipIf(sharedFixturesMissing)(
    needsSharedFixtures("refuses a volume on another grid than the model's"),
    async () => {
      const id = await upload(
        new Uint8Array(await readFile(path.join(FORMATS_DIR, "example4d.nii.gz"))),
        "x.nii.gz",
      );
      const res = await complete(id, { model: TINY_MODEL });
      expect(res.status).toBe(422);
      expect((await res.json()) as object).toMatchObject({ code: "grid_mismatch" });
    },
  );

  it("refuses an upload larger than the cap before issuing a URL", async () => {
    const res = await h.request("/v1/uploads", { ...json({ filename: "big.h5", size: 10 ** 12 }), key });
    expect(res.status).toBe(413);
  });

  it("names the bad field of an invalid body", async () => {
    const res = await h.request("/v1/uploads", { ...json({ filename: "", size: -1 }), key });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; errors: { path: string }[] };
    expect(body.code).toBe("invalid_request");
    expect(body.errors.map((e) => e.path)).toEqual(expect.arrayContaining(["body.filename", "body.size"]));
  });
});

describe("uploads: hostile files", () => {
  /** A NIfTI-1 header (348 bytes + 4 of extension flag) claiming the given dims of float32, with no data. */
  function niftiHeader(dims: number[]): Uint8Array {
    const header = new DataView(new ArrayBuffer(352));
    header.setInt32(0, 348, true);
    header.setInt16(40, dims.length, true);
    for (const [i, d] of dims.entries()) header.setInt16(42 + 2 * i, d, true);
    header.setInt16(70, 16, true); // float32
    header.setInt16(72, 32, true);
    header.setFloat32(108, 352, true);
    header.setFloat32(112, 1, true);
    for (const [i, c] of [..."n+1"].entries()) header.setUint8(344 + i, c.charCodeAt(0));
    return new Uint8Array(header.buffer);
  }

  it("refuses a header claiming terabytes with 413 before reading any data", async () => {
    const id = await upload(niftiHeader([32767, 32767, 32767, 100]), "huge.nii");
    const res = await complete(id);
    expect(res.status).toBe(413);
    expect((await res.json()) as object).toMatchObject({ code: "file_too_large" });
  });

  it("refuses a file shorter than its header says with truncated_file", async () => {
    const id = await upload(niftiHeader([4, 5, 6, 3]), "short.nii");
    const res = await complete(id);
    expect(res.status).toBe(422);
    expect((await res.json()) as object).toMatchObject({ code: "truncated_file" });
  });
});

describe("uploads: security", () => {
  it("hides one lab's upload from another lab (404 on get, complete and delete)", async () => {
    const id = await upload(new Uint8Array([1, 2, 3]), "mine.raw");
    const other = await h.keyFor("lab-other");
    for (const res of [
      await h.request(`/v1/uploads/${id}`, { key: other }),
      await complete(id, {}, other),
      await h.request(`/v1/uploads/${id}`, { method: "DELETE", key: other }),
    ]) {
      expect(res.status).toBe(404);
    }
    expect((await h.request(`/v1/uploads/${id}`, { key })).status).toBe(200);
  });

  it("kills the presigned PUT URL once the upload is complete: the summarised bytes cannot change", async () => {
    const created = (await (
      await h.request("/v1/uploads", { ...json({ filename: "run1.raw", size: 16 }), key })
    ).json()) as { id: string; upload: { url: string; headers: Record<string, string> } };
    const put = (values: number[]) =>
      h.app.request(created.upload.url, {
        method: "PUT",
        body: new Uint8Array(new Float32Array(values).buffer),
        headers: created.upload.headers,
      });
    expect((await put([1, 2, 3, 4])).status).toBe(200);
    expect((await put([5, 6, 7, 8])).status).toBe(200); // overwriting before complete is fine
    expect((await complete(created.id, { raw_shape: [4] })).status).toBe(200);
    const again = await put([9, 9, 9, 9]);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { detail: string }).detail).toMatch(/complete/);
    const stored = Buffer.concat(
      await (await h.services.blobs.get(`uploads/${await labId()}/${created.id}`)).toArray(),
    );
    expect(Array.from(new Float32Array(stored.buffer, stored.byteOffset, 4))).toEqual([5, 6, 7, 8]);
  });

  it("refuses to read a completed upload whose file changed behind its summary (as an S3 URL could)", async () => {
    const id = await upload(new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer), "changed.raw");
    expect((await complete(id, { raw_shape: [4] })).status).toBe(200);
    await h.services.blobs.put(
      `uploads/${await labId()}/${id}`,
      new Uint8Array(new Float32Array([4, 3, 2, 1]).buffer),
    );
    const res = await h.request("/v1/embeddings", {
      ...json({ model: TINY_MODEL, betas: { upload_id: id } }),
      key,
    });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/changed after it was completed/);
  });

  it("kills the presigned PUT URL once the upload is deleted: nothing reappears", async () => {
    const created = (await (
      await h.request("/v1/uploads", { ...json({ filename: "gone.raw", size: 3 }), key })
    ).json()) as { id: string; upload: { url: string; headers: Record<string, string> } };
    expect((await h.request(`/v1/uploads/${created.id}`, { method: "DELETE", key })).status).toBe(204);
    const res = await h.app.request(created.upload.url, {
      method: "PUT",
      body: new Uint8Array([1, 2, 3]),
      headers: created.upload.headers,
    });
    expect(res.status).toBe(404);
    expect(await h.services.blobs.head(`uploads/${await labId()}/${created.id}`)).toBeNull();
  });

  it("takes exactly the declared size: fewer or more bytes are refused and nothing is stored", async () => {
    const created = (await (
      await h.request("/v1/uploads", { ...json({ filename: "exact.raw", size: 8 }), key })
    ).json()) as { id: string; upload: { url: string; headers: Record<string, string> } };
    for (const bytes of [4, 9]) {
      const res = await h.app.request(created.upload.url, {
        method: "PUT",
        body: new Uint8Array(bytes),
        headers: created.upload.headers,
      });
      expect(res.status, `${bytes} bytes`).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(await h.services.blobs.head(`uploads/${await labId()}/${created.id}`)).toBeNull();
    }
  });

  it("deletes the record and the file", async () => {
    const id = await upload(new Uint8Array([1, 2, 3]), "gone.raw");
    expect((await h.request(`/v1/uploads/${id}`, { method: "DELETE", key })).status).toBe(204);
    expect((await h.request(`/v1/uploads/${id}`, { key })).status).toBe(404);
  });
});
