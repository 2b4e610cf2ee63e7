import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness, TINY_MODEL } from "../../test/helpers/harness.ts";

let h: Harness;
let key: string;
beforeAll(async () => {
  h = await createHarness();
  key = await h.keyFor("lab-idempotency");
});
afterAll(() => h.close());

const createUpload = (body: object, idempotencyKey: string | undefined, asKey = key) =>
  h.request("/v1/uploads", {
    method: "POST",
    key: asKey,
    headers: {
      "content-type": "application/json",
      ...(idempotencyKey === undefined ? {} : { "idempotency-key": idempotencyKey }),
    },
    body: JSON.stringify(body),
  });

const uploadCount = async (filename: string) => {
  const [row] = await h.db.query<{ n: number }>(
    "select count(*)::int as n from uploads where filename = $1",
    [filename],
  );
  return row!.n;
};

describe("Idempotency-Key on POST /v1/uploads", () => {
  it("replays the first response for the same key and body, marked Idempotent-Replayed", async () => {
    const first = await createUpload({ filename: "replay.npy", size: 100 }, "key-replay");
    expect(first.status).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    // The same body with its keys in another order is the same request.
    const again = await createUpload({ size: 100, filename: "replay.npy" }, "key-replay");
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json()).toEqual(await first.json());
    expect(await uploadCount("replay.npy")).toBe(1);
    // The replay is a response of its own request, and says which.
    expect(again.headers.get("x-request-id")).toMatch(/^req_/);
    expect(again.headers.get("x-request-id")).not.toBe(first.headers.get("x-request-id"));
  });

  it("makes one upload for 50 concurrent requests with one key, and all get its id", async () => {
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => createUpload({ filename: "burst.npy", size: 10 }, "key-burst")),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(201));
    const ids = await Promise.all(responses.map(async (r) => ((await r.json()) as { id: string }).id));
    expect(new Set(ids).size).toBe(1);
    expect(responses.filter((r) => r.headers.get("idempotent-replayed") === null)).toHaveLength(1);
    expect(await uploadCount("burst.npy")).toBe(1);
  });

  it("refuses the same key with another body with 422 idempotency_key_reused", async () => {
    expect((await createUpload({ filename: "a.npy", size: 1 }, "key-reused")).status).toBe(201);
    const res = await createUpload({ filename: "a.npy", size: 2 }, "key-reused");
    expect(res.status).toBe(422);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({ code: "idempotency_key_reused" });
    expect(await uploadCount("a.npy")).toBe(1);
  });

  it("creates again without a key, and keeps one lab's keys apart from another's", async () => {
    const a = await createUpload({ filename: "nokey.npy", size: 5 }, undefined);
    const b = await createUpload({ filename: "nokey.npy", size: 5 }, undefined);
    expect(((await a.json()) as { id: string }).id).not.toBe(((await b.json()) as { id: string }).id);

    const other = await h.keyFor("lab-idempotency-other");
    const mine = await createUpload({ filename: "shared-key.npy", size: 5 }, "key-shared");
    const theirs = await createUpload({ filename: "shared-key.npy", size: 5 }, "key-shared", other);
    expect(theirs.status).toBe(201);
    expect(theirs.headers.get("idempotent-replayed")).toBeNull();
    expect(((await theirs.json()) as { id: string }).id).not.toBe(((await mine.json()) as { id: string }).id);
  });

  it("refuses a key longer than 255 characters with 400", async () => {
    const res = await createUpload({ filename: "long.npy", size: 5 }, "k".repeat(256));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "invalid_request" });
  });
});

describe("Idempotency-Key on every POST, synchronous ones too", () => {
  const post = (path: string, body: unknown, idempotencyKey: string) =>
    h.request(path, {
      method: "POST",
      key,
      headers: { "content-type": "application/json", "idempotency-key": idempotencyKey },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const betas = (v: number) => ({ model: TINY_MODEL, betas: { values: [Array(40).fill(v)] } });

  it("replays a synchronous embedding and refuses another body under its key", async () => {
    const first = await post("/v1/embeddings", betas(0.5), "embed-sync");
    expect(first.status).toBe(200);
    const again = await post("/v1/embeddings", betas(0.5), "embed-sync");
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json()).toEqual(await first.json());
    const other = await post("/v1/embeddings", betas(0.25), "embed-sync");
    expect(other.status).toBe(422);
    expect(await other.json()).toMatchObject({ code: "idempotency_key_reused" });
  });

  it("replays an .npy answer byte for byte", async () => {
    const npy = (k: string) =>
      h.request("/v1/embeddings", {
        method: "POST",
        key,
        headers: { "content-type": "application/json", accept: "application/x-npy", "idempotency-key": k },
        body: JSON.stringify(betas(0.75)),
      });
    const first = await npy("embed-npy");
    const again = await npy("embed-npy");
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.headers.get("content-type")).toBe(first.headers.get("content-type"));
    expect(new Uint8Array(await again.arrayBuffer())).toEqual(new Uint8Array(await first.arrayBuffer()));
  });

  it("rotates the webhook secret once for a retried rotation", async () => {
    const first = (await (await post("/v1/webhooks/secret/rotate", undefined, "rotate-once")).json()) as {
      secret: string;
    };
    const again = await post("/v1/webhooks/secret/rotate", undefined, "rotate-once");
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(((await again.json()) as { secret: string }).secret).toBe(first.secret);
    const current = (await (await h.request("/v1/webhooks/secret", { key })).json()) as { secret: string };
    expect(current.secret).toBe(first.secret);
  });

  it("replays a refused request's 4xx instead of running it again", async () => {
    const first = await post(
      "/v1/embeddings",
      { model: "no-such-model", betas: { values: [[1]] } },
      "bad-once",
    );
    expect(first.status).toBe(404);
    const again = await post(
      "/v1/embeddings",
      { model: "no-such-model", betas: { values: [[1]] } },
      "bad-once",
    );
    expect(again.status).toBe(404);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json()).toEqual(await first.json());
  });
});
