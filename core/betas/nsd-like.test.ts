import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiError } from "../contracts/errors.ts";
import { extractMaskedVoxels, type InputSpace } from "./input-space.ts";
import { type OpenBetaFileOptions, openBetaFile } from "./open-beta-file.ts";
import { preprocessBetas } from "./preprocess.ts";
import { iterateTrials } from "./read-trials.ts";
import { collect, hasDebianPython, readFloat32, writeNsdLikeFiles } from "./testing.ts";

const TRIALS = 3;
const GRID: [number, number, number] = [81, 104, 83];
let dir = "";
let space: InputSpace;
let expectedInt16: Float32Array;
let expectedScaled: Float32Array;

// CI installs Debian's Python stack (.ci/run), so there a missing one fails instead of skipping.
describe.skipIf(!hasDebianPython() && !process.env.CI)(
  "NSD-like files written by nibabel, h5py and numpy (SKIPPED outside CI when /usr/bin/python3 lacks them)",
  () => {
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "betas-nsd-"));
      writeNsdLikeFiles(dir, TRIALS);
      const maskBytes = readFileSync(join(dir, "mask.i16"));
      const mask = new Int16Array(
        maskBytes.buffer.slice(maskBytes.byteOffset, maskBytes.byteOffset + maskBytes.byteLength),
      );
      space = { voxels: 15724, grid: GRID, mask };
      expectedInt16 = readFloat32(join(dir, "expected_int16.f32"));
      expectedScaled = readFloat32(join(dir, "expected_scaled.f32"));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("reads the nsdgeneral-like mask in numpy C order", async () => {
      const file = await openBetaFile(join(dir, "nsdgeneral.nii.gz"));
      expect(file.grid).toEqual(GRID);
      const [mask] = await collect(iterateTrials(file));
      expect(Array.from(mask!)).toEqual(Array.from(space.mask!));
      expect(mask!.filter((v) => v > 0).length).toBe(15724);
    });

    const volumes: [string, OpenBetaFileOptions][] = [
      ["betas_session01.nii.gz", {}],
      ["betas_session01.hdf5", {}],
      ["betas_gzip_chunks.h5", {}],
      ["TYPED_like.mat", { dataset: "modelmd", layout: "matlab_reversed" }],
      ["volume_txyz.npy", {}],
      ["volume_xyzt.npy", { layout: "xyzt" }],
    ];
    it.each(volumes)("masks %s exactly as numpy's data[..., mask > 0]", async (name, options) => {
      const file = await openBetaFile(join(dir, name), options);
      const { data, shape } = await extractMaskedVoxels(file, space);
      expect(shape).toEqual([TRIALS, 15724]);
      expect(data).toEqual(expectedInt16);
      await file.close();
    });

    it("streams HDF5 trials in the same order as it gathers them", async () => {
      const file = await openBetaFile(join(dir, "betas_gzip_chunks.h5"));
      const trials = await collect(iterateTrials(file));
      const nifti = await collect(iterateTrials(await openBetaFile(join(dir, "betas_session01.nii.gz"))));
      expect(trials).toEqual(nifti);
      await file.close();
    });

    const masked: [string, OpenBetaFileOptions][] = [
      ["masked_f32.npy", {}],
      ["masked_bigendian.npy", {}],
      ["masked_fortran.npy", {}],
      ["masked_transposed_view.npy", {}],
      ["masked_f64.npy", {}],
      ["masked_stored.npz", {}],
      ["masked_deflated.npz", { dataset: "betas" }],
      ["masked.h5", {}],
      ["masked.f32", { format: "raw", rawShape: [TRIALS, 15724] }],
    ];
    it.each(masked)("passes already-masked %s through unchanged", async (name, options) => {
      const file = await openBetaFile(join(dir, name), options);
      const { data } = await extractMaskedVoxels(file, space);
      expect(data).toEqual(expectedScaled);
    });

    it("decodes float16 as numpy does", async () => {
      const { data } = await extractMaskedVoxels(await openBetaFile(join(dir, "masked_f16.npy")), space);
      expect(data).toEqual(readFloat32(join(dir, "expected_f16.f32")));
    });

    it("divides NSD's int16 by 300 when scale is auto, matching numpy's float32 division", async () => {
      const file = await openBetaFile(join(dir, "betas_session01.nii.gz"));
      expect(file.scaling).toBeNull();
      const result = preprocessBetas(await extractMaskedVoxels(file, space), { scale: "auto" }, file);
      expect(result.applied.scale.divisor).toBe(300);
      expect(result.data).toEqual(expectedScaled);
    });

    it("refuses a grid mismatch, and hints at the trials-last layout", async () => {
      const file = await openBetaFile(join(dir, "volume_xyzt.npy"));
      const error = (await extractMaskedVoxels(file, space).catch((e: unknown) => e)) as ApiError;
      expect(error.code).toBe("grid_mismatch");
      expect(error.message).toMatch(/xyzt/);
    });

    it("refuses the wrong voxel count for masked rows", async () => {
      const file = await openBetaFile(join(dir, "masked_f32.npy"));
      const error = (await extractMaskedVoxels(file, { ...space, voxels: 14278 }).catch(
        (e: unknown) => e,
      )) as ApiError;
      expect(error.code).toBe("voxel_count_mismatch");
      expect(error.message).toMatch(/15724/);
    });
  },
);
