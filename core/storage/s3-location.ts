import { ConfigError } from "../config.ts";
import { assertValidKey } from "./blob-keys.ts";

export interface S3Location {
  bucket: string;
  /** "" or a key prefix ending in "/", put before every key of the store. */
  keyPrefix: string;
}

/** Parses `s3://bucket` or `s3://bucket/some/prefix` (BLOB_STORE). */
export function parseS3Url(text: string): S3Location {
  const url = new URL(text);
  if (url.protocol !== "s3:") throw new ConfigError(`BLOB_STORE ${text} is not an s3:// URL.`);
  const bucket = url.hostname;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new ConfigError(
      `BLOB_STORE ${text}: "${bucket}" is not a valid S3 bucket name (3-63 of a-z, 0-9, '.', '-').`,
    );
  }
  const path = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, "");
  if (path !== "") {
    try {
      assertValidKey(path);
    } catch (error) {
      throw new ConfigError(`BLOB_STORE ${text}: the key prefix is not valid (${(error as Error).message})`);
    }
  }
  return { bucket, keyPrefix: path === "" ? "" : `${path}/` };
}
