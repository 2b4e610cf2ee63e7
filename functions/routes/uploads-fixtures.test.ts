/**
 * Every readable third-party file in ../shared/fixtures/formats through the upload API, as a lab would send
 * it: the `stats` of `complete` must equal what nibabel / h5py / numpy report (ground_truth.json), and the
 * files we refuse must be refused with a 4xx problem.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../../test/helpers/harness.ts";
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
  key = await h.keyFor("lab-fixtures");
});
afterAll(() => h.close());

async function completeUpload(name: string, options: object = {}) {
  const bytes = new Uint8Array(readFileSync(path.join(FORMATS_DIR, name)));
  const created = await h.request("/v1/uploads", {
    method: "POST",
    key,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ filename: name, size: bytes.length }),
  });
  const { id, upload } = (await created.json()) as { id: string; upload: { url: string } };
  expect((await h.app.request(upload.url, { method: "PUT", body: bytes })).status).toBe(200);
  return h.request(`/v1/uploads/${id}/complete`, {
    method: "POST",
    key,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(options),
  });
}

const close = (actual: number, expected: number, scale: number) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-6 * Math.max(Math.abs(expected), scale) + 1e-9);

type Stats = { sum: number; mean: number; min: number; max: number; nan_count: number };
const truth = groundTruth();

describe.skipIf(sharedFixturesMissing)(
  needsSharedFixtures("third-party files through POST /v1/uploads/{id}/complete"),
  () => {
    const cases: { name: string; options: object; stats: Partial<Stats>; shape: unknown }[] = [];
    for (const [name, t] of Object.entries(truth)) {
      if (/^NIfTI-[12]$/.test(t.kind)) cases.push({ name, options: {}, stats: t.scaled!, shape: t.shape });
      for (const [member, m] of Object.entries(
        (t["members"] ?? {}) as Record<string, { sum: number; shape: number[] }>,
      )) {
        cases.push({ name, options: { dataset: member }, stats: { sum: m.sum }, shape: m.shape });
      }
      if (t.kind === "HDF5" && !name.endsWith(".mnc")) {
        for (const [dataset, d] of Object.entries(
          (t["datasets"] ?? {}) as Record<string, { sum: number; shape: number[]; dtype: string }>,
        )) {
          if (d.dtype !== "|O")
            cases.push({ name, options: { dataset }, stats: { sum: d.sum }, shape: d.shape });
        }
      }
    }

    it.each(cases)("$name $options", async ({ name, options, stats, shape }) => {
      const res = await completeUpload(name, options);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { shape: number[]; stats: Stats };
      expect(body.shape).toEqual(shape);
      const scale = Math.abs(stats.max ?? 1);
      for (const field of ["sum", "mean", "min", "max"] as const) {
        if (stats[field] !== undefined) close(body.stats[field], stats[field]!, scale);
      }
      if (stats.nan_count !== undefined) expect(body.stats.nan_count).toBe(stats.nan_count);
    });

    it.each(["task.func.gii", "row_major.dconn.nii", "minc2_4d.mnc", "py3-objarr.npy"])(
      "%s is refused with a 4xx problem",
      async (name) => {
        const res = await completeUpload(name);
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(res.headers.get("content-type")).toContain("application/problem+json");
      },
    );
  },
);
