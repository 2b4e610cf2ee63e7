import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import type { APIGatewayProxyResult, LambdaContext, LambdaEvent } from "hono/aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAMBDA_DOCS_SCRIPT } from "../core/docs-script.ts";
import { createServerDatabase } from "../test/helpers/databases.ts";

const HOST = "abc123.lambda-url.us-east-1.on.aws";
const scalarBundle = createRequire(import.meta.url).resolve("@scalar/api-reference/browser/standalone.js");

const get = (rawPath: string): LambdaEvent =>
  ({
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString: "",
    headers: { host: HOST },
    isBase64Encoded: false,
    requestContext: {
      domainName: HOST,
      http: {
        method: "GET",
        path: rawPath,
        protocol: "HTTP/1.1",
        sourceIp: "203.0.113.7",
        userAgent: "test",
      },
    },
  }) as unknown as LambdaEvent;

// The Lambda package has no node_modules of Scalar: infra/api.ts copies its bundle to the package root,
// as LAMBDA_TASK_ROOT (the package folder) here holds only that copy.
describe("the Lambda entry's docs page", () => {
  let taskRoot: string;
  let dataDir: string;
  let database: Awaited<ReturnType<typeof createServerDatabase>>;
  const saved = { ...process.env };
  beforeAll(async () => {
    taskRoot = await mkdtemp(path.join(os.tmpdir(), "mindeye-lambda-"));
    dataDir = await mkdtemp(path.join(os.tmpdir(), "mindeye-lambda-data-"));
    await copyFile(scalarBundle, path.join(taskRoot, LAMBDA_DOCS_SCRIPT));
    database = await createServerDatabase();
    Object.assign(process.env, {
      LAMBDA_TASK_ROOT: taskRoot,
      MINDEYE_DATA_DIR: dataDir,
      DATABASE_URL: database.url,
      BLOB_STORE: `file://${dataDir}/blobs`,
      WORKER_URL: "http://127.0.0.1:9",
      SIGNING_SECRET: "lambda-test-signing-secret-of-32-chars",
      LOG_LEVEL: "silent",
    });
  });
  afterAll(async () => {
    process.env = saved;
    await database?.drop();
    await rm(taskRoot, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  });

  it("serves Scalar's bundle from the function package and points the page at it, not at a CDN", async () => {
    const { lambdaHandler } = await import("./lambda.ts");
    const invoke = async (rawPath: string) =>
      (await lambdaHandler(get(rawPath), {} as LambdaContext)) as APIGatewayProxyResult;
    const page = await invoke("/docs");
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('src="/docs/scalar.js"');
    expect(page.body).not.toMatch(/<script[^>]+src="https?:/);

    const script = await invoke("/docs/scalar.js");
    expect(script.statusCode).toBe(200);
    const served = script.isBase64Encoded ? Buffer.from(script.body, "base64") : Buffer.from(script.body);
    expect(served.equals(await readFile(scalarBundle))).toBe(true);
  });
});
