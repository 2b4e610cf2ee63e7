import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  FORMATS_DIR,
  groundTruth,
  needsSharedFixtures,
  sharedFixturesMissing,
} from "../../test/helpers/shared-fixtures.ts";
import { ApiError } from "../contracts/errors.ts";
import { openBetaFile } from "./open-beta-file.ts";
import { iterateTrials } from "./read-trials.ts";
import { summarizeBetas } from "./summarize.ts";
import { collect } from "./testing.ts";

interface Stats {
  sum: number;
  mean: number;
  min: number;
  max: number;
  nan_count: number;
}
const truth = groundTruth() as Record<string, Record<string, unknown>>;
const describeShared = describe.skipIf(sharedFixturesMissing);

/** Float tolerance: values are decoded to float32, sums accumulate in float64. */
function close(actual: number | null, expected: number | null, scale = 1): void {
  if (expected === null) {
    expect(actual).toBeNull();
    return;
  }
  expect(Math.abs(actual! - expected)).toBeLessThanOrEqual(1e-6 * Math.max(Math.abs(expected), scale) + 1e-9);
}

async function expectRefused(file: string, code: string, options = {}): Promise<ApiError> {
  const error = await openBetaFile(join(FORMATS_DIR, file), options).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  expect((error as ApiError).code).toBe(code);
  expect((error as ApiError).status).toBeGreaterThanOrEqual(400);
  expect((error as ApiError).status).toBeLessThan(500);
  return error as ApiError;
}

describeShared(needsSharedFixtures("real NIfTI files match nibabel"), () => {
  const niftis = Object.entries(truth).filter(([, t]) => /^NIfTI-[12]$/.test(t["kind"] as string));
  it.each(niftis)("%s", async (name, t) => {
    const file = await openBetaFile(join(FORMATS_DIR, name));
    expect(file.shape).toEqual(t["shape"]);
    expect(file.dtype).toBe(t["dtype"]);
    expect(file.format).toBe(t["kind"] === "NIfTI-2" ? "nifti2" : "nifti1");
    const summary = await summarizeBetas(file);
    const scaled = t["scaled"] as Stats;
    const scale = Math.abs(scaled.max);
    close(summary.sum, scaled.sum, scale);
    close(summary.mean, scaled.mean, scale);
    close(summary.min, scaled.min, scale);
    close(summary.max, scaled.max, scale);
    expect(summary.nan_count).toBe(scaled.nan_count);
    for (const [i, v] of (t["first3_file_order_scaled"] as (number | null)[]).entries())
      close(summary.first[i]!, v, scale);
    close(summary.last, t["last_file_order_scaled"] as number | null, scale);
  });

  it("applies scl_slope and scl_inter only by the NIfTI rule", async () => {
    const functional = await openBetaFile(join(FORMATS_DIR, "functional.nii"));
    expect(functional.scaling).toEqual({
      slope: truth["functional.nii"]!["scl_slope"],
      inter: truth["functional.nii"]!["scl_inter"],
    });
  });

  it("gives trials in numpy C order over (x, y, z), not file order", async () => {
    const file = await openBetaFile(join(FORMATS_DIR, "standard.nii.gz"));
    const [trial] = await collect(iterateTrials(file));
    const summary = await summarizeBetas(file);
    // (4, 5, 7): file order is x fastest, so file element 1 is (1, 0, 0), which is C index 1 * 5 * 7.
    expect(trial![35]).toBe(summary.first[1]);
    expect(trial!.length).toBe(140);
  });
});

describeShared(needsSharedFixtures("real HDF5, MATLAB v7.3 and NPZ files match h5py and numpy"), () => {
  const datasetCases = Object.entries(truth)
    .filter(([name, t]) => t["kind"] === "HDF5" && !name.endsWith(".mnc"))
    .flatMap(([name, t]) =>
      Object.entries(t["datasets"] as Record<string, Record<string, unknown>>).map(([dataset, d]) => ({
        name,
        dataset,
        d,
      })),
    );
  it.each(datasetCases)("$name $dataset", async ({ name, dataset, d }) => {
    if (d["dtype"] === "|O") return void (await expectRefused(name, "unsupported_format", { dataset }));
    const file = await openBetaFile(join(FORMATS_DIR, name), { dataset });
    expect(file.shape).toEqual(d["shape"]);
    const summary = await summarizeBetas(file);
    close(summary.sum, d["sum"] as number, 1);
    for (const [i, v] of (d["first"] as number[]).entries()) close(summary.first[i]!, v, 1);
  });

  const members = Object.entries(truth)
    .filter(([, t]) => t["kind"] === "NPZ")
    .flatMap(([name, t]) =>
      Object.entries(t["members"] as Record<string, Record<string, unknown>>).map(([member, m]) => ({
        name,
        member,
        m,
      })),
    );
  it.each(members)("$name $member", async ({ name, member, m }) => {
    const file = await openBetaFile(join(FORMATS_DIR, name), { dataset: member });
    expect(file.shape).toEqual(m["shape"]);
    expect(file.compressed).toBe(m["zip_method"] === "deflate");
    const summary = await summarizeBetas(file);
    close(summary.sum, m["sum"] as number, 1e-6);
    const [row0] = await collect(iterateTrials(file));
    close(row0![0]!, m["a00"] as number, 1e-6);
    close(row0![1]!, m["a01"] as number, 1e-6);
  });

  it("asks which dataset to read when there is no 'betas'", async () => {
    const error = await expectRefused("vlen_string_s390x.h5", "invalid_file");
    expect(error.message).toMatch(/DSBEfloat/);
    expect((await expectRefused("gendare_20170120_data.npz", "invalid_file")).message).toMatch(/dataset/);
  });
});

describeShared(needsSharedFixtures("refused formats say what to send instead"), () => {
  it.each([
    ["task.func.gii", /GIFTI/],
    ["row_major.dconn.nii", /CIFTI/],
    ["minc2_4d.mnc", /MINC/],
    ["py3-objarr.npy", /pickle/i],
  ])("%s", async (name, pattern) => {
    const error = await expectRefused(name, "unsupported_format");
    expect(error.message).toMatch(pattern);
    expect(error.message).toMatch(/[Ss]end|[Ss]ave|[Cc]onvert/);
  });

  it("sniffs bytes, not names: a CIFTI renamed .nii is still refused", async () => {
    const error = await expectRefused("row_major.dconn.nii", "unsupported_format", { filename: "betas.nii" });
    expect(error.message).toMatch(/CIFTI/);
  });
});
