import { createHmac, timingSafeEqual } from "node:crypto";
import { ApiError } from "../contracts/errors.ts";
import { assertValidKey } from "./blob-keys.ts";
import { attachmentDisposition } from "./presign-options.ts";

/** Path under the API's public URL where the local presigned URLs are served (by functions/routes/blobs.ts). */
export const LOCAL_BLOB_PATH = "/v1/blobs/";

const PARAM = {
  method: "X-Mindeye-Method",
  expires: "X-Mindeye-Expires",
  maxBytes: "X-Mindeye-Max-Bytes",
  contentType: "X-Mindeye-Content-Type",
  filename: "X-Mindeye-Filename",
  signature: "X-Mindeye-Signature",
} as const;

/** What a valid local presigned URL allows; every field was covered by the signature. */
export interface LocalUrlGrant {
  key: string;
  /** PUT only: the most bytes the body may have. */
  maxBytes?: number;
  /** PUT: the content type to store. */
  contentType?: string;
  /** GET: the Content-Disposition to answer with, when the URL was signed with a download filename. */
  contentDisposition?: string;
}

interface SignedFields {
  method: "PUT" | "GET";
  key: string;
  expires: number;
  maxBytes?: number;
  contentType?: string;
  filename?: string;
}

/** A JSON array as the string to sign: no delimiter in a key or content type can shift one field into another. */
function signatureOf(secret: string, f: SignedFields): string {
  const canonical = JSON.stringify([
    "mindeye-blob-url-v1",
    f.method,
    f.key,
    f.expires,
    f.maxBytes ?? null,
    f.contentType ?? null,
    f.filename ?? null,
  ]);
  return createHmac("sha256", secret).update(canonical).digest("hex");
}

const encodeKey = (key: string) => key.split("/").map(encodeURIComponent).join("/");

export function signLocalUrl(secret: string, publicBaseUrl: string, fields: SignedFields): string {
  const url = new URL(`${publicBaseUrl.replace(/\/+$/, "")}${LOCAL_BLOB_PATH}${encodeKey(fields.key)}`);
  url.searchParams.set(PARAM.method, fields.method);
  url.searchParams.set(PARAM.expires, String(fields.expires));
  if (fields.maxBytes !== undefined) url.searchParams.set(PARAM.maxBytes, String(fields.maxBytes));
  if (fields.contentType !== undefined) url.searchParams.set(PARAM.contentType, fields.contentType);
  if (fields.filename !== undefined) url.searchParams.set(PARAM.filename, fields.filename);
  url.searchParams.set(PARAM.signature, signatureOf(secret, fields));
  return url.toString();
}

const refused = (why: string) => new ApiError("invalid_signature", why);

function keyOf(url: URL): string {
  const at = url.pathname.indexOf(LOCAL_BLOB_PATH);
  if (at < 0) throw refused(`This is not a blob URL: its path does not contain ${LOCAL_BLOB_PATH}.`);
  try {
    const key = url.pathname
      .slice(at + LOCAL_BLOB_PATH.length)
      .split("/")
      .map(decodeURIComponent)
      .join("/");
    assertValidKey(key);
    return key;
  } catch {
    // Only valid keys are ever signed, so a path that does not decode to one has been altered.
    throw refused("The blob URL's path has been altered.");
  }
}

function optionalInteger(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (!/^\d{1,15}$/.test(value)) throw refused("The blob URL's parameters have been altered.");
  return Number(value);
}

/**
 * Checks a URL made by the local store's presignPut/presignGet and returns what it allows. Throws
 * ApiError invalid_signature (403) when it was altered, has expired, or was signed for another method.
 */
export function verifyLocalPresignedUrl(
  secret: string,
  method: "PUT" | "GET",
  url: URL,
  now: Date = new Date(),
): LocalUrlGrant {
  const params = url.searchParams;
  const signedMethod = params.get(PARAM.method);
  if (signedMethod !== method) {
    throw refused(
      `This URL was signed for ${signedMethod ?? "no method"}; it cannot be used with ${method}.`,
    );
  }
  const expires = optionalInteger(params.get(PARAM.expires));
  if (expires === undefined) throw refused("The blob URL has no expiry; request a new one.");
  const fields: SignedFields = {
    method,
    key: keyOf(url),
    expires,
    maxBytes: optionalInteger(params.get(PARAM.maxBytes)),
    contentType: params.get(PARAM.contentType) ?? undefined,
    filename: params.get(PARAM.filename) ?? undefined,
  };
  const given = Buffer.from(params.get(PARAM.signature) ?? "", "utf8");
  const expected = Buffer.from(signatureOf(secret, fields), "utf8");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw refused("The blob URL's signature does not match; it was altered or signed with another secret.");
  }
  // Checked after the signature so an altered expiry reads as altered, not as expired.
  if (now.getTime() >= expires * 1000) {
    throw refused(`This URL expired at ${new Date(expires * 1000).toISOString()}; request a new one.`);
  }
  return {
    key: fields.key,
    maxBytes: fields.maxBytes,
    contentType: fields.contentType,
    contentDisposition: fields.filename === undefined ? undefined : attachmentDisposition(fields.filename),
  };
}
