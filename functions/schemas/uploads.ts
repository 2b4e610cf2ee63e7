import { z } from "@hono/zod-openapi";
import { closedObject } from "../../core/contracts/closed-object.ts";

export const CreateUploadBody = closedObject({
  filename: z.string().min(1).max(255).openapi({
    description: "The file's name; its extension helps tell the format (.nii.gz, .hdf5, .mat, .npy, .npz)",
    example: "betas_session01.nii.gz",
  }),
  size: z.number().int().positive().openapi({ description: "Exact size of the file in bytes" }),
  content_type: z.string().max(255).optional().openapi({
    description: "The Content-Type the PUT will send (then signed into the URL)",
    example: "application/gzip",
  }),
}).openapi("CreateUpload", { description: "The file about to be uploaded" });

export const PresignedUpload = z
  .object({
    url: z.string().openapi({ description: "Where to PUT the file's bytes; no API key needed" }),
    method: z.literal("PUT").openapi({ description: "Always PUT" }),
    headers: z.record(z.string(), z.string()).openapi({ description: "Headers the PUT must send, as given" }),
    expires_at: z.string().openapi({ description: "When the URL stops working (ISO 8601)" }),
  })
  .openapi({ description: "The presigned request that uploads the file" });

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
}).openapi("CompleteUpload", { description: "How to read the file, where its header leaves it open" });

export const UploadStats = z
  .object({
    sum: z.number().openapi({
      description:
        "Sum of the finite values as read (the file's own scaling applied, not `preprocessing.scale`)",
    }),
    mean: z
      .number()
      .nullable()
      .openapi({ description: "Mean of the finite values; null when there are none" }),
    min: z.number().nullable().openapi({ description: "Smallest finite value; null when there are none" }),
    max: z.number().nullable().openapi({ description: "Largest finite value; null when there are none" }),
    nan_count: z.number().int().openapi({ description: "NaN values" }),
    infinite_count: z.number().int().openapi({ description: "Infinite values" }),
  })
  .openapi({ description: "Statistics over every value of the betas array, to check scale and units" });

export const UploadResource = z
  .object({
    id: z.string().openapi({ description: "The upload's id, as `upload_id` in betas" }),
    status: z
      .enum(["pending", "ready"])
      .openapi({ description: "pending until POST /v1/uploads/{id}/complete has read the file, then ready" }),
    filename: z.string().openapi({ description: "The name given at creation" }),
    size: z.number().int().openapi({ description: "The file's size in bytes, as declared" }),
    created_at: z.string().openapi({ description: "When the upload was created (ISO 8601)" }),
    expires_at: z.string().openapi({ description: "When the file is deleted (ISO 8601)" }),
    format: z
      .string()
      .optional()
      .openapi({ description: "The file format read: nifti, nifti-gz, npy, npz, hdf5, raw" }),
    dtype: z.string().optional().openapi({ description: "The stored element type, e.g. int16, float32" }),
    shape: z.array(z.number().int()).optional().openapi({ description: "The betas array's shape as stored" }),
    trials: z.number().int().optional().openapi({ description: "Trials found in the file" }),
    layout: z
      .string()
      .optional()
      .openapi({ description: "The axis order it was read with (see CompleteUpload.layout)" }),
    dataset: z
      .string()
      .nullable()
      .optional()
      .openapi({ description: "The HDF5 dataset or NPZ member read; null for single-array files" }),
    grid: z
      .array(z.number().int())
      .nullable()
      .optional()
      .openapi({ description: "The (x, y, z) volume of a 4-D file; null for [trials, voxels] arrays" }),
    scaling: z
      .object({
        slope: z.number().openapi({ description: "NIfTI scl_slope: value = stored x slope + inter" }),
        inter: z.number().openapi({ description: "NIfTI scl_inter" }),
      })
      .nullable()
      .optional()
      .openapi({
        description: "The file's own scaling (NIfTI), applied before `preprocessing.scale`; null if none",
      }),
    stats: UploadStats.optional(),
    voxels: z
      .number()
      .int()
      .optional()
      .openapi({ description: "Voxels per trial after the model's mask (when completed with `model`)" }),
    model: z.string().optional().openapi({ description: "The model `voxels` was counted for" }),
  })
  .openapi("Upload", { description: "An uploaded file of betas and what was found in it" });

export const UploadIdParam = z.object({
  id: z.string().openapi({
    param: { name: "id", in: "path", description: "The upload's id (from POST /v1/uploads)" },
    example: "upl_7q2m9x4k1c3vb5nd",
  }),
});
