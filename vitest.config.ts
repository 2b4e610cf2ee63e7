import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", ".mindeye/**", ".sst/**"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Two cores here: files run in parallel forks, but not more than the machine can feed.
    pool: "forks",
    maxWorkers: 2,
    globalSetup: ["test/helpers/global-setup.ts"],
    // s3rver (the S3 test server) encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3
    // only offers through its legacy provider.
    execArgv: ["--openssl-legacy-provider"],
  },
});
