import { ApiError } from "../contracts/errors.ts";
import { toHex } from "../hex.ts";
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

/** A JSON array as the bytes to sign: no delimiter in a key or content type can shift one field into another. */
function signedBytes(f: SignedFields): Uint8Array<ArrayBuffer> {
  const canonical = JSON.stringify([
    "mindeye-blob-url-v1",
    f.method,
    f.key,
    f.expires,
    f.maxBytes ?? null,
    f.contentType ?? null,
    f.filename ?? null,
  ]);
  return new TextEncoder().encode(canonical);
}

type HmacKey = ReturnType<typeof crypto.subtle.importKey>;

// One HMAC-SHA-256 key per secret (a process has one or two), imported once rather than per URL.
const hmacKeys = new Map<string, HmacKey>();

function hmacKey(secret: string): HmacKey {
  let key = hmacKeys.get(secret);
  if (!key) {
    const raw = new TextEncoder().encode(secret);
    key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    hmacKeys.set(secret, key);
  }
  return key;
}

/** The 32 bytes of a lowercase-hex SHA-256 HMAC, or undefined for anything else. */
function signatureBytes(hex: string | null): Uint8Array<ArrayBuffer> | undefined {
  if (hex === null || !/^[0-9a-f]{64}$/.test(hex)) return undefined;
  return Uint8Array.from({ length: 32 }, (_, i) => Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

const encodeKey = (key: string) => key.split("/").map(encodeURIComponent).join("/");

export async function signLocalUrl(
  secret: string,
  publicBaseUrl: string,
  fields: SignedFields,
): Promise<string> {
  const url = new URL(`${publicBaseUrl.replace(/\/+$/, "")}${LOCAL_BLOB_PATH}${encodeKey(fields.key)}`);
  url.searchParams.set(PARAM.method, fields.method);
  url.searchParams.set(PARAM.expires, String(fields.expires));
  if (fields.maxBytes !== undefined) url.searchParams.set(PARAM.maxBytes, String(fields.maxBytes));
  if (fields.contentType !== undefined) url.searchParams.set(PARAM.contentType, fields.contentType);
  if (fields.filename !== undefined) url.searchParams.set(PARAM.filename, fields.filename);
  const signature = await crypto.subtle.sign("HMAC", await hmacKey(secret), signedBytes(fields));
  url.searchParams.set(PARAM.signature, toHex(signature));
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
export async function verifyLocalPresignedUrl(
  secret: string,
  method: "PUT" | "GET",
  url: URL,
  now: Date = new Date(),
): Promise<LocalUrlGrant> {
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
  const given = signatureBytes(params.get(PARAM.signature));
  // subtle.verify compares in constant time.
  if (!given || !(await crypto.subtle.verify("HMAC", await hmacKey(secret), given, signedBytes(fields)))) {
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
