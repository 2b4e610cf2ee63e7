import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

/** The part of s3rver (CommonJS, untyped) that the tests use. */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

const S3rver = createRequire(import.meta.url)("s3rver") as S3rverClass;

export interface RunningS3rver {
  /** `http://127.0.0.1:<port>`, for S3_ENDPOINT (path-style). */
  endpoint: string;
  bucket: string;
  /** s3rver accepts any credentials (it checks no signatures); these keep the SDK off the real chain. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  close(): Promise<void>;
}

/**
 * An S3 protocol server in this process on a random port, with one empty bucket, storing in a temp
 * folder that close() removes. Its quirks (toolchain notes §7): it checks no signatures, ignores
 * If-Match/If-None-Match, and pages ListObjectsV2 with DES tokens, which need the OpenSSL legacy
 * provider (vitest.config.ts passes --openssl-legacy-provider to the workers).
 */
export async function startS3rver(bucket = "mindeye-test"): Promise<RunningS3rver> {
  const directory = await mkdtemp(path.join(os.tmpdir(), "mindeye-s3rver-"));
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    async close() {
      // Clients keep sockets alive; without this, close() waits for them to time out.
      server.httpServer?.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
