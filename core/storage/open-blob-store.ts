import { mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../config.ts";
import type { BlobStore } from "./blob-store.ts";
import { LocalBlobStore } from "./local-blob-store.ts";
import { S3BlobStore } from "./s3-blob-store.ts";

export { type LocalUrlGrant, verifyLocalPresignedUrl } from "./local-presigned-url.ts";

export interface BlobStoreSettings {
  /** BLOB_STORE: `file:///absolute/path` or `s3://bucket/prefix`; unset means `<dataDir>/blobs`. */
  blobStoreUrl?: string;
  dataDir: string;
  /** The API's public URL, which serves the local store's presigned URLs. */
  publicBaseUrl: string;
  /** Signs and verifies the local store's presigned URLs. */
  signingSecret: string;
  /** S3_ENDPOINT, for S3-compatible servers. */
  s3Endpoint?: string;
  /** AWS_REGION; defaults to us-east-1. */
  region?: string;
}

/** The blob store the configuration names. A local folder is created now; S3 is first touched on use. */
export async function openBlobStore(settings: BlobStoreSettings): Promise<BlobStore> {
  const url = settings.blobStoreUrl;
  if (url?.startsWith("s3://")) {
    return new S3BlobStore({ url, region: settings.region ?? "us-east-1", endpoint: settings.s3Endpoint });
  }
  if (url !== undefined && !url.startsWith("file://")) {
    throw new ConfigError(`BLOB_STORE ${url} must be file:///absolute/path or s3://bucket/prefix.`);
  }
  const root = url ? fileURLToPath(url) : path.join(settings.dataDir, "blobs");
  // Made now so a folder we cannot write fails at startup, not on the first upload.
  await mkdir(root, { recursive: true });
  return new LocalBlobStore({
    root,
    publicBaseUrl: settings.publicBaseUrl,
    signingSecret: settings.signingSecret,
  });
}
