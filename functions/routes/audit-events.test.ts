import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEvent } from "../../core/audit/audit-log.ts";
import { createHarness, type Harness } from "../../test/helpers/harness.ts";

let h: Harness;
let key: string;
let otherKey: string;
beforeAll(async () => {
  h = await createHarness();
  key = await h.keyFor("lab-audit");
  otherKey = await h.keyFor("lab-audit-other");
});
afterAll(() => h.close());

const events = async (query = "", asKey = key) => {
  const res = await h.request(`/v1/audit-events${query}`, { key: asKey });
  expect(res.status).toBe(200);
  return (await res.json()) as { data: AuditEvent[]; next_cursor: string | null };
};
const keyIdOf = async (asKey: string) =>
  ((await (await h.request("/v1/lab", { key: asKey })).json()) as { key_id: string }).key_id;

describe("GET /v1/audit-events", () => {
  it("records each read and change of an upload, with the key, and the presigned PUT without one", async () => {
    const bytes = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
    const created = await h.request("/v1/uploads", {
      method: "POST",
      key,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ filename: "audit.raw", size: bytes.length }),
    });
    const { id, upload } = (await created.json()) as { id: string; upload: { url: string } };
    expect((await h.app.request(upload.url, { method: "PUT", body: bytes })).status).toBe(200);
    await h.request(`/v1/uploads/${id}/complete`, {
      method: "POST",
      key,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ raw_shape: [4] }),
    });
    await h.request(`/v1/uploads/${id}`, { key });
    await h.request(`/v1/uploads/${id}`, { method: "DELETE", key });

    const trail = (await events(`?resource_id=${id}`)).data.reverse();
    expect(trail.map((e) => [e.action, e.status])).toEqual([
      ["upload.create", 201],
      ["upload.complete", 200],
      ["upload.read", 200],
      ["upload.delete", 204],
    ]);
    const keyId = await keyIdOf(key);
    for (const e of trail)
      expect(e).toMatchObject({ key_id: keyId, resource_type: "upload", resource_id: id });
    const put = (await events()).data.find((e) => e.action === "blob.put");
    expect(put).toMatchObject({ key_id: null, resource_type: "blob", status: 200 });
    expect(put!.resource_id).toMatch(new RegExp(`/${id}$`));
  });

  it("records a refused attempt on another lab's data under the caller, and shows each lab only its own", async () => {
    const created = await h.request("/v1/uploads", {
      method: "POST",
      key,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ filename: "private.raw", size: 4 }),
    });
    const { id } = (await created.json()) as { id: string };
    expect((await h.request(`/v1/uploads/${id}`, { key: otherKey })).status).toBe(404);
    const theirs = (await events("", otherKey)).data;
    expect(theirs.find((e) => e.resource_id === id)).toMatchObject({
      action: "upload.read",
      status: 404,
      key_id: await keyIdOf(otherKey),
    });
    expect(theirs.filter((e) => e.action === "upload.create")).toEqual([]);
    const mine = (await events(`?resource_id=${id}`)).data;
    expect(mine.map((e) => e.action)).toEqual(["upload.create"]);
  });

  it("pages newest first through next_cursor", async () => {
    const first = await events("?limit=2");
    expect(first.data).toHaveLength(2);
    expect(first.next_cursor).toBe(first.data[1]!.id);
    const second = await events(`?limit=2&cursor=${first.next_cursor}`);
    expect(Number(second.data[0]!.id)).toBeLessThan(Number(first.data[1]!.id));
  });

  it("refuses a bad cursor or limit with 400, and no key with 401", async () => {
    for (const query of ["?cursor=abc", "?limit=0", "?limit=101"]) {
      const res = await h.request(`/v1/audit-events${query}`, { key });
      expect(res.status, query).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
    }
    expect((await h.request("/v1/audit-events")).status).toBe(401);
  });
});
