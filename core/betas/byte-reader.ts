import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { ApiError } from "../contracts/errors.ts";

const EMPTY = Buffer.alloc(0);

/**
 * Pulls exact byte counts from a stream (a file, a gunzip stream or a zip member), holding only
 * what was asked for. Past `maxBytes` of output it stops with decompression_bomb.
 */
export class ByteReader {
  #chunks: AsyncIterator<Buffer>;
  #pending: Buffer = EMPTY;
  #done = false;
  #stream: Readable;
  #maxBytes: number;
  #pulled = 0;

  constructor(stream: Readable, maxBytes: number) {
    this.#stream = stream;
    this.#chunks = stream[Symbol.asyncIterator]();
    this.#maxBytes = maxBytes;
  }

  /** Up to `count` bytes; fewer only at the end of the stream. */
  async read(count: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let have = 0;
    while (have < count) {
      if (this.#pending.length === 0 && !(await this.#pull())) break;
      const take = this.#pending.subarray(0, count - have);
      this.#pending = this.#pending.subarray(take.length);
      parts.push(take);
      have += take.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
  }

  /** The next bytes as they arrive (what is pending first), without copying; null at the end. */
  async next(): Promise<Buffer | null> {
    if (this.#pending.length === 0 && !(await this.#pull())) return null;
    const chunk = this.#pending;
    this.#pending = EMPTY;
    return chunk;
  }

  /** Skips `count` bytes; returns how many were there. */
  async skip(count: number): Promise<number> {
    let skipped = 0;
    while (skipped < count) {
      if (this.#pending.length === 0 && !(await this.#pull())) break;
      const take = Math.min(this.#pending.length, count - skipped);
      this.#pending = this.#pending.subarray(take);
      skipped += take;
    }
    return skipped;
  }

  async #pull(): Promise<boolean> {
    if (this.#done) return false;
    const next = await this.#chunks.next().catch((error: unknown) => {
      throw streamError(error);
    });
    if (next.done) {
      this.#done = true;
      return false;
    }
    this.#pulled += next.value.length;
    if (this.#pulled > this.#maxBytes) {
      this.close();
      throw new ApiError(
        "decompression_bomb",
        `The file decompresses past the ${this.#maxBytes}-byte limit. Send a smaller file ` +
          "(fewer trials, or betas already masked to the model's voxels).",
      );
    }
    this.#pending = this.#pending.length ? Buffer.concat([this.#pending, next.value]) : next.value;
    return true;
  }

  close(): void {
    this.#done = true;
    this.#stream.destroy();
  }
}

function streamError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const message = (error as Error).message ?? String(error);
  if (/unexpected end of file/i.test(message)) {
    return new ApiError(
      "truncated_file",
      "The compressed stream ends early: the file is incomplete. Upload it again.",
    );
  }
  if (/too many bytes/i.test(message)) {
    return new ApiError(
      "decompression_bomb",
      "A zip member inflates past the size its header declares. Re-create the .npz with np.savez.",
    );
  }
  const code = (error as { code?: string }).code ?? "";
  if (code.startsWith("Z_") || /incorrect header|invalid (block|distance|code|stored)/i.test(message)) {
    return new ApiError(
      "invalid_file",
      `The compressed data is corrupt (${message}). Upload the file again.`,
      {
        cause: error,
      },
    );
  }
  return new ApiError("invalid_file", `The file could not be read (${message}).`, { cause: error });
}

/** Opens a file, or its gunzipped contents, as a ByteReader. */
export function openFileReader(path: string, options: { gzip: boolean; maxBytes: number }): ByteReader {
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  if (!options.gzip) return new ByteReader(file, Number.POSITIVE_INFINITY);
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  file.on("error", (error) => gunzip.destroy(error));
  gunzip.on("close", () => file.destroy());
  return new ByteReader(file.pipe(gunzip), options.maxBytes);
}

/**
 * Reads a file's bytes from `position` straight into `target` until it is full or the file ends; returns
 * how many were read. Where a whole array is wanted in place this skips a stream's chunks and their copy
 * (for 15 MB, about half the cost of streaming it into a buffer).
 */
export async function readFileAt(path: string, target: Uint8Array, position: number): Promise<number> {
  const handle = await open(path, "r");
  try {
    let filled = 0;
    while (filled < target.length) {
      const { bytesRead } = await handle.read(target, filled, target.length - filled, position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled;
  } finally {
    await handle.close();
  }
}

/** A ByteReader over bytes already in memory (a request body). */
export function bufferReader(bytes: Uint8Array): ByteReader {
  const chunk = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return new ByteReader(Readable.from([chunk]), Number.POSITIVE_INFINITY);
}
