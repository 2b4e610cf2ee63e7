import { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { AwsCredentialIdentity } from "@aws-sdk/types";
import { ApiError } from "../contracts/errors.ts";
import { assertValidKey, assertValidPrefix } from "./blob-keys.ts";
import {
  type BlobBody,
  type BlobHead,
  type BlobStore,
  nodeBody,
  type PresignedRequest,
} from "./blob-store.ts";
import { assertValidRange, type ByteRange } from "./byte-range.ts";
import { withDeclaredSize } from "./declared-size.ts";
import { assertValidExpiry, assertValidMaxBytes, attachmentDisposition } from "./presign-options.ts";
import { s3StatusOf, toApiError } from "./s3-errors.ts";
import { parseS3Url } from "./s3-location.ts";

export interface S3BlobStoreOptions {
  /** `s3://bucket` or `s3://bucket/key/prefix`. */
  url: string;
  region: string;
  /** An S3-compatible endpoint (S3_ENDPOINT); addressed path-style, as such servers expect. */
  endpoint?: string;
  /** Defaults to the AWS SDK's credential chain (environment, profile, instance or task role). */
  credentials?: AwsCredentialIdentity;
  /** Keys per ListObjectsV2 page; S3 caps it at 1000. */
  listPageSize?: number;
}

/** Streams of unknown length go up in parts of this size (S3 allows 10,000 parts: up to 80 GiB). */
const PART_SIZE = 8 * 1024 * 1024;

/**
 * Blobs in an S3 bucket under a key prefix. Streams of unknown length are uploaded in parts
 * (lib-storage), so a failed upload is aborted and never visible. Presigned PUTs sign Content-Length,
 * because a query-string presigned PUT cannot carry a size range: the client must send exactly
 * `maxBytes` bytes (callers pass the size the client declared).
 */
export class S3BlobStore implements BlobStore {
  readonly kind = "s3";
  readonly client: S3Client;
  readonly bucket: string;
  readonly keyPrefix: string;
  readonly #listPageSize: number;

  constructor(options: S3BlobStoreOptions) {
    const { bucket, keyPrefix } = parseS3Url(options.url);
    this.bucket = bucket;
    this.keyPrefix = keyPrefix;
    this.#listPageSize = options.listPageSize ?? 1000;
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.endpoint !== undefined,
      credentials: options.credentials,
      // Checksums only where S3 demands them: otherwise streamed bodies are sent aws-chunked (which
      // S3-compatible servers may store framing and all) and presigned URLs would demand a checksum header.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  #location(key: string) {
    return { Bucket: this.bucket, Key: `${this.keyPrefix}${key}` };
  }

  async put(
    key: string,
    received: BlobBody,
    options: { contentType?: string; size?: number } = {},
  ): Promise<BlobHead> {
    assertValidKey(key);
    const body = nodeBody(received);
    try {
      if (body instanceof Readable) {
        const upload = new Upload({
          client: this.client,
          params: {
            ...this.#location(key),
            Body: withDeclaredSize(body, options.size),
            ContentType: options.contentType,
          },
          partSize: PART_SIZE,
          queueSize: 2,
        });
        await upload.done();
      } else {
        const bytes = Buffer.from(body);
        if (options.size !== undefined && options.size !== bytes.byteLength) {
          throw new ApiError(
            "invalid_request",
            `The body was declared as ${options.size} bytes but has ${bytes.byteLength}.`,
          );
        }
        await this.client.send(
          new PutObjectCommand({ ...this.#location(key), Body: bytes, ContentType: options.contentType }),
        );
      }
    } catch (error) {
      throw toApiError(error, key);
    }
    const head = await this.head(key);
    if (!head) throw new ApiError("conflict", `The blob ${key} was deleted while it was being written.`);
    return head;
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    assertValidKey(key);
    if (range) assertValidRange(range);
    try {
      const response = await this.client.send(
        new GetObjectCommand({
          ...this.#location(key),
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
      );
      if (!(response.Body instanceof Readable)) throw new Error("GetObject returned no Node.js stream");
      return response.Body;
    } catch (error) {
      throw toApiError(error, key);
    }
  }

  async head(key: string): Promise<BlobHead | null> {
    assertValidKey(key);
    try {
      const response = await this.client.send(new HeadObjectCommand(this.#location(key)));
      return {
        key,
        size: response.ContentLength ?? 0,
        contentType: response.ContentType,
        etag: response.ETag,
        lastModified: response.LastModified,
      };
    } catch (error) {
      if (s3StatusOf(error) === 404) return null;
      throw toApiError(error, key);
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    try {
      await this.client.send(new DeleteObjectCommand(this.#location(key)));
    } catch (error) {
      if (s3StatusOf(error) !== 404) throw toApiError(error, key);
    }
  }

  async *list(prefix: string): AsyncIterable<BlobHead> {
    assertValidPrefix(prefix);
    const pages = paginateListObjectsV2(
      { client: this.client, pageSize: this.#listPageSize },
      { Bucket: this.bucket, Prefix: `${this.keyPrefix}${prefix}` },
    );
    try {
      for await (const page of pages) {
        for (const object of page.Contents ?? []) {
          if (object.Key === undefined) continue;
          yield {
            key: object.Key.slice(this.keyPrefix.length),
            size: object.Size ?? 0,
            etag: object.ETag,
            lastModified: object.LastModified,
          };
        }
      }
    } catch (error) {
      throw toApiError(error, prefix);
    }
  }

  async presignPut(
    key: string,
    options: { expiresInSeconds: number; maxBytes: number; contentType?: string },
  ): Promise<PresignedRequest> {
    assertValidKey(key);
    assertValidExpiry(options.expiresInSeconds);
    assertValidMaxBytes(options.maxBytes);
    const command = new PutObjectCommand({
      ...this.#location(key),
      ContentType: options.contentType,
      ContentLength: options.maxBytes,
    });
    const url = await getSignedUrl(this.client, command, {
      expiresIn: options.expiresInSeconds,
      signableHeaders: new Set(["content-length", "content-type"]),
    });
    const headers: Record<string, string> = { "content-length": String(options.maxBytes) };
    if (options.contentType) headers["content-type"] = options.contentType;
    return { url, method: "PUT", headers, expiresAt: expiresAt(options.expiresInSeconds) };
  }

  async presignGet(
    key: string,
    options: { expiresInSeconds: number; filename?: string },
  ): Promise<PresignedRequest> {
    assertValidKey(key);
    assertValidExpiry(options.expiresInSeconds);
    const command = new GetObjectCommand({
      ...this.#location(key),
      ResponseContentDisposition:
        options.filename === undefined ? undefined : attachmentDisposition(options.filename),
    });
    const url = await getSignedUrl(this.client, command, { expiresIn: options.expiresInSeconds });
    return { url, method: "GET", headers: {}, expiresAt: expiresAt(options.expiresInSeconds) };
  }
}

/** Rounded down to the second, as the signature's own X-Amz-Date/X-Amz-Expires are. */
const expiresAt = (seconds: number) => new Date((Math.floor(Date.now() / 1000) + seconds) * 1000);
