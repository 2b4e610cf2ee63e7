import { z } from "@hono/zod-openapi";
import type { JobRecord } from "../../core/contracts/jobs.ts";
import type { BlobStore } from "../../core/storage/blob-store.ts";
import type { JobResource, OutputFile } from "./job-schemas.ts";
import { jobUrls } from "./job-urls.ts";
import { presentReconstructions } from "./present-reconstructions.ts";

/** How long a signed output URL in a job response stays valid. */
export const OUTPUT_URL_TTL_SECONDS = 3600;

/** The convention for handler outputs that are files (core/jobs/README.md): blob keys under `files`. */
const storedFiles = z.record(
  z.string(),
  z.object({ key: z.string(), content_type: z.string(), bytes: z.number().int() }),
);

const storedPreview = z.looseObject({ key: z.string() });

/**
 * A job as the API returns it: the record, its `urls`, and any output files (and a progress preview) as
 * signed GET URLs instead of blob keys, so a client downloads them without an API key and never learns
 * where they are stored.
 */
export async function presentJob<Job extends Omit<JobRecord, "inputs">>(
  job: Job,
  blobs: BlobStore,
  origin: string,
): Promise<Job & Pick<JobResource, "outputs" | "urls">> {
  return {
    ...job,
    progress_detail: await presentProgressDetail(job.progress_detail, blobs),
    outputs: await presentOutputs(job.outputs, blobs),
    urls: jobUrls(origin, job),
  };
}

/** A preview in the progress detail (a reconstruction's) is shown as `{url, expires_at, ...}`, its key never. */
async function presentProgressDetail(
  detail: Record<string, unknown> | null,
  blobs: BlobStore,
): Promise<Record<string, unknown> | null> {
  const preview = storedPreview.safeParse(detail?.preview);
  if (!detail || !preview.success) return detail;
  const { key, ...rest } = preview.data;
  const get = await blobs.presignGet(key, { expiresInSeconds: OUTPUT_URL_TTL_SECONDS });
  return { ...detail, preview: { url: get.url, expires_at: get.expiresAt.toISOString(), ...rest } };
}

async function presentOutputs(outputs: unknown, blobs: BlobStore): Promise<unknown> {
  if (!outputs || typeof outputs !== "object" || !("files" in outputs)) return outputs;
  const stored = storedFiles.safeParse(outputs.files);
  if (!stored.success) return outputs;
  const signed = await Promise.all(
    Object.entries(stored.data).map(async ([name, file]): Promise<[string, z.infer<typeof OutputFile>]> => {
      const get = await blobs.presignGet(file.key, {
        expiresInSeconds: OUTPUT_URL_TTL_SECONDS,
        filename: name,
      });
      return [
        name,
        {
          url: get.url,
          expires_at: get.expiresAt.toISOString(),
          content_type: file.content_type,
          bytes: file.bytes,
        },
      ];
    }),
  );
  const files = Object.fromEntries(signed);
  return presentReconstructions({ ...outputs, files }, files);
}
