import { z } from "@hono/zod-openapi";
import { closedObject } from "../../core/contracts/closed-object.ts";

export const CreateUploadBody = closedObject({
  filename: z.string().min(1).max(255).openapi({ example: "betas_session01.nii.gz" }),
  size: z.number().int().positive().openapi({ description: "Exact size of the file in bytes" }),
  content_type: z.string().max(255).optional().openapi({ example: "application/gzip" }),
}).openapi("CreateUpload");

export const PresignedUpload = z.object({
  url: z.string(),
  method: z.literal("PUT"),
  headers: z.record(z.string(), z.string()),
  expires_at: z.string(),
});

export const CompleteUploadBody = closedObject({
  dataset: z
    .string()
    .optional()
    .openapi({ description: "HDF5 dataset path or NPZ member (default: betas, or the only array)" }),
  layout: z
    .enum(["txyz", "xyzt", "tzyx", "trials_by_voxels", "voxels_by_trials", "nsd_tzyx", "matlab_reversed"])
    .optional()
    .openapi({ description: "Axis order when the file's own header cannot say (HDF5, NPY)" }),
  raw_shape: z.array(z.number().int().positive()).min(1).max(4).optional().openapi({
    description: "For headerless little-endian float32 files: the shape, e.g. [trials, voxels]",
  }),
  model: z.string().optional().openapi({ description: "Also report how many voxels this model would take" }),
}).openapi("CompleteUpload");

export const UploadStats = z.object({
  sum: z.number(),
  mean: z.number().nullable(),
  min: z.number().nullable(),
  max: z.number().nullable(),
  nan_count: z.number().int(),
  infinite_count: z.number().int(),
});

export const UploadResource = z
  .object({
    id: z.string(),
    status: z.enum(["pending", "ready"]),
    filename: z.string(),
    size: z.number().int(),
    created_at: z.string(),
    expires_at: z.string(),
    format: z.string().optional(),
    dtype: z.string().optional(),
    shape: z.array(z.number().int()).optional(),
    trials: z.number().int().optional(),
    layout: z.string().optional(),
    dataset: z.string().nullable().optional(),
    grid: z.array(z.number().int()).nullable().optional(),
    scaling: z.object({ slope: z.number(), inter: z.number() }).nullable().optional(),
    stats: UploadStats.optional(),
    voxels: z.number().int().optional(),
    model: z.string().optional(),
  })
  .openapi("Upload");

export const UploadIdParam = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, example: "upl_..." }),
});
