import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { EventSourceParserStream } from "eventsource-parser/stream";
import { readFailedResponse } from "../core/contracts/problem-response.ts";
import { UserError } from "./user-error.ts";

export interface Job {
  id: string;
  kind: string;
  status: string;
  progress: number;
  progress_message: string | null;
  created_at: string;
  error: unknown;
  outputs: { files?: Record<string, { url: string; bytes: number }> } & Record<string, unknown>;
  urls: { get: string; cancel: string; events: string; results?: string };
}

export interface Upload {
  id: string;
  status: string;
  format?: string;
  dtype?: string;
  shape?: number[];
  trials?: number;
  voxels?: number;
}

export interface UploadOptions {
  model?: string;
  dataset?: string;
  layout?: string;
  /** Called as the file's bytes go out. */
  onProgress?: (sent: number, total: number) => void;
}

/**
 * A lab's calls to the API over fetch with the lab's key. A problem answer is raised as the API's own
 * error (RemoteApiError, via core's one problem reader); anything else (no server, another server) as a
 * UserError saying what to check.
 */
export class LabClient {
  readonly baseUrl: string;
  readonly #key: string;

  constructor(baseUrl: string, key: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.#key = key;
  }

  async call<T>(method: string, route: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await this.#fetch(route, {
      method,
      headers: { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await response.json()) as T;
  }

  /** create -> PUT (streamed from disk, with progress) -> complete, as the upload protocol goes. */
  async upload(file: string, options: UploadOptions = {}): Promise<Upload> {
    const size = await stat(file).then(
      (s) => s.size,
      () => {
        throw new UserError(`cannot read ${file}: no such file`);
      },
    );
    const created = await this.call<{ id: string; upload: { url: string; headers: Record<string, string> } }>(
      "POST",
      "/v1/uploads",
      { filename: path.basename(file), size },
    );
    let sent = 0;
    const bytes = createReadStream(file).on("data", (chunk) => {
      sent += chunk.length;
      options.onProgress?.(sent, size);
    });
    await this.#send(created.upload.url, {
      method: "PUT",
      // A declared length, not chunked: S3's presigned PUTs require it.
      headers: { ...created.upload.headers, "content-length": String(size) },
      body: Readable.toWeb(bytes) as ReadableStream,
      duplex: "half",
    } as RequestInit);
    const { model, dataset, layout } = options;
    return this.call<Upload>("POST", `/v1/uploads/${created.id}/complete`, { model, dataset, layout });
  }

  /** The job's server-sent events (`status`, `progress`), each with the job, until the stream closes. */
  async *events(jobId: string): AsyncGenerator<{ event: string; job: Job }> {
    const response = await this.#fetch(`/v1/jobs/${encodeURIComponent(jobId)}/events`, {
      headers: { accept: "text/event-stream" },
    });
    const messages = response
      .body!.pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream());
    for await (const message of messages) {
      yield { event: message.event ?? "message", job: JSON.parse(message.data) as Job };
    }
  }

  /** A signed output URL's body; it carries its own authorization, so the key is not sent. */
  async download(url: string): Promise<Response> {
    return this.#send(url, {});
  }

  #fetch(route: string, init: RequestInit): Promise<Response> {
    const headers = { ...(init.headers as Record<string, string>), authorization: `Bearer ${this.#key}` };
    return this.#send(`${this.baseUrl}${route}`, { ...init, headers });
  }

  async #send(url: string, init: RequestInit): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
      throw new UserError(
        `cannot reach ${new URL(url).origin} (${cause?.code ?? cause?.message ?? String(error)}): ` +
          "start the API with `mindeye serve`, or set MINDEYE_API_URL to where it runs",
      );
    }
    if (response.ok) return response;
    const failed = await readFailedResponse(response);
    if (failed.error) throw failed.error;
    throw new UserError(
      `${init.method ?? "GET"} ${url} answered ${failed.status} ${failed.text.replace(/\s+/g, " ")}: ` +
        "is MINDEYE_API_URL the mindeye API?",
    );
  }
}
