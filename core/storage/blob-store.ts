import { Readable } from "node:stream";
import type { ReadableStream as NodeWebStream } from "node:stream/web";

/** What `put` stores: a Node or Web stream (e.g. an HTTP request's body), or bytes in hand. */
export type BlobBody = Readable | ReadableStream<Uint8Array> | Uint8Array | string;

/** A Web stream as the Node stream the adapters write from; other bodies as they are. */
export function nodeBody(body: BlobBody): Readable | Uint8Array | string {
  return body instanceof ReadableStream ? Readable.fromWeb(body as NodeWebStream<Uint8Array>) : body;
}

export interface BlobHead {
  key: string;
  size: number;
  contentType?: string;
  etag?: string;
  lastModified?: Date;
}

export interface PresignedRequest {
  url: string;
  method: "PUT" | "GET";
  /** Headers the client must send with the request (e.g. content-type for a PUT). */
  headers: Record<string, string>;
  expiresAt: Date;
}

/**
 * Where uploads, job outputs and model bundles live: a local folder in the embedded default, S3 at scale.
 * Keys are `/`-separated relative paths without `..`. Bodies are streamed both ways.
 */
export interface BlobStore {
  readonly kind: "file" | "s3";
  put(key: string, body: BlobBody, options?: { contentType?: string; size?: number }): Promise<BlobHead>;
  /** The object's bytes as a stream; `range` is inclusive (as in HTTP Range). Throws ApiError not_found. */
  get(key: string, range?: { start: number; end: number }): Promise<Readable>;
  /** null when there is no such object. */
  head(key: string): Promise<BlobHead | null>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  list(prefix: string): AsyncIterable<BlobHead>;
  /**
   * A URL a client can PUT at most `maxBytes` to, until `expiresInSeconds` pass. On S3 the URL signs
   * Content-Length = maxBytes (a presigned PUT cannot carry a size range), so there the client must send
   * exactly that many bytes: pass the size the client declared, and check the stored size on completion.
   */
  presignPut(
    key: string,
    options: { expiresInSeconds: number; maxBytes: number; contentType?: string },
  ): Promise<PresignedRequest>;
  presignGet(
    key: string,
    options: { expiresInSeconds: number; filename?: string },
  ): Promise<PresignedRequest>;
}
