import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness, TINY_MODEL } from "../../test/helpers/harness.ts";
import { registerTestJobRoute, TEST_JOB_PATH } from "../jobs/test-support/test-job-route.ts";

let h: Harness;
let key: string;
beforeAll(async () => {
  h = await createHarness();
  registerTestJobRoute(h.app);
  key = await h.keyFor("lab-hostile");
});
afterAll(() => h.close());

const postJson = (pathname: string, body: string) =>
  h.request(pathname, { method: "POST", key, headers: { "content-type": "application/json" }, body });

async function expectClientError(res: Response, pattern: RegExp) {
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  expect(((await res.json()) as { detail: string }).detail).toMatch(pattern);
}

describe("a NUL character, which PostgreSQL cannot store", () => {
  it("in a JSON string is a 400 naming it, wherever the string goes", async () => {
    await expectClientError(
      await postJson("/v1/uploads", JSON.stringify({ filename: "run\u00001.npy", size: 10 })),
      /NUL/,
    );
    await expectClientError(
      await postJson(TEST_JOB_PATH, JSON.stringify({ kind: "nul", inputs: { note: "a\u0000b" } })),
      /NUL/,
    );
    await expectClientError(
      await postJson(
        "/v1/embeddings",
        JSON.stringify({ model: TINY_MODEL, betas: { upload_id: "upl_\u0000" } }),
      ),
      /NUL/,
    );
  });

  it("in a path is a 400 naming it", async () => {
    for (const pathname of ["/v1/uploads/upl_%00x", "/v1/jobs/job_%00", "/v1/jobs/%00/events"]) {
      await expectClientError(await h.request(pathname, { key }), /NUL/);
    }
  });

  it("in a query string is a 400 naming it", async () => {
    await expectClientError(await h.request("/v1/jobs?cursor=%00", { key }), /NUL/);
  });
});

describe("JSON nested 100,000 deep", () => {
  const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
  const deepObject = `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`;

  it("is a 400 naming the nesting limit on every JSON route", async () => {
    // Small-bodied routes refuse 200 kB as too large first; 1,000 deep fits their limit.
    await expectClientError(await postJson("/v1/uploads", deep), /larger than/);
    await expectClientError(await postJson("/v1/uploads", `${"[".repeat(1000)}${"]".repeat(1000)}`), /nest/);
    for (const pathname of ["/v1/embeddings", "/v1/retrievals", TEST_JOB_PATH]) {
      await expectClientError(await postJson(pathname, deep), /nest/);
      await expectClientError(
        await postJson(
          pathname,
          JSON.stringify({ model: TINY_MODEL, betas: JSON.parse("[]"), x: 1 }).replace(
            '"x":1',
            `"x":${deepObject}`,
          ),
        ),
        /nest/,
      );
    }
  });

  it("leaves ordinary nesting alone", async () => {
    const res = await postJson(
      "/v1/embeddings",
      JSON.stringify({ model: TINY_MODEL, betas: { values: [Array(40).fill(0.25)] } }),
    );
    expect(res.status).toBe(200);
  });
});
