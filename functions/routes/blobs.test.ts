import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../../test/helpers/harness.ts";

let h: Harness;
let key: string;
beforeAll(async () => {
  h = await createHarness();
  key = await h.keyFor("lab-blobs");
});

/** A presigned PUT as POST /v1/uploads issues it, and the key it writes. */
async function uploadUrl(size: number) {
  const res = await h.request("/v1/uploads", {
    method: "POST",
    key,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ filename: "f.bin", size }),
  });
  const { id, upload } = (await res.json()) as {
    id: string;
    upload: { url: string; headers: Record<string, string> };
  };
  const lab = (await (await h.request("/v1/lab", { key })).json()) as { id: string };
  return { url: upload.url, headers: upload.headers, key: `uploads/${lab.id}/${id}` };
}
afterAll(() => h.close());

// The harness's blob URLs point at its origin, so they can be replayed through app.request.
const through = (url: string, init?: RequestInit) => h.app.request(url, init);

describe("local presigned blob URLs", () => {
  it("accepts a PUT to a presigned URL and serves it back on a presigned GET", async () => {
    const put = await uploadUrl(3);
    const res = await through(put.url, {
      method: "PUT",
      body: new Uint8Array([1, 2, 3]),
      headers: put.headers,
    });
    expect(res.status).toBe(200);
    const get = await h.services.blobs.presignGet(put.key, { expiresInSeconds: 60 });
    const back = await through(get.url);
    expect(back.status).toBe(200);
    expect(new Uint8Array(await back.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
  });

  it("refuses a tampered URL with 403", async () => {
    const put = await h.services.blobs.presignPut("uploads/b.bin", { expiresInSeconds: 60, maxBytes: 1000 });
    const tampered = put.url
      .replace("uploads%2Fb.bin", "uploads%2Fc.bin")
      .replace("uploads/b.bin", "uploads/c.bin");
    expect(tampered).not.toBe(put.url);
    const res = await through(tampered, { method: "PUT", body: "x", headers: put.headers });
    expect(res.status).toBe(403);
    expect((await res.json()) as object).toMatchObject({ code: "invalid_signature" });
    expect(await h.services.blobs.head("uploads/c.bin")).toBeNull();
  });

  it("refuses an expired URL with 403", async () => {
    const put = await h.services.blobs.presignPut("uploads/d.bin", { expiresInSeconds: 1, maxBytes: 1000 });
    await new Promise((r) => setTimeout(r, 2100));
    const res = await through(put.url, { method: "PUT", body: "x", headers: put.headers });
    expect(res.status).toBe(403);
  });

  it("refuses a PUT URL used for GET, and a GET URL used for PUT", async () => {
    const put = await h.services.blobs.presignPut("uploads/e.bin", { expiresInSeconds: 60, maxBytes: 1000 });
    expect((await through(put.url)).status).toBe(403);
    await h.services.blobs.put("uploads/f.bin", "hello");
    const get = await h.services.blobs.presignGet("uploads/f.bin", { expiresInSeconds: 60 });
    expect((await through(get.url, { method: "PUT", body: "overwrite" })).status).toBe(403);
  });

  it("refuses a body over the URL's size limit and stores nothing", async () => {
    const put = await uploadUrl(10);
    const res = await through(put.url, { method: "PUT", body: new Uint8Array(11), headers: put.headers });
    expect(res.status).toBe(413);
    expect(await h.services.blobs.head(put.key)).toBeNull();
  });
});
