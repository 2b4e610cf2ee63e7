import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseBackends } from "../../test/helpers/databases.ts";
import { ApiError } from "../contracts/errors.ts";
import type { Database } from "../db/database.ts";
import { IdempotencyStore, requestFingerprint } from "./idempotency.ts";
import { JobStore } from "./job-store.ts";
import { createLab } from "./test-support/lab.ts";

const embedded = { allowPrivate: true, allowHttp: true };

describe("request fingerprints", () => {
  it("ignore key order but not values, paths or methods", async () => {
    const a = await requestFingerprint("POST", "/v1/reconstructions", {
      model: "sim01",
      params: { steps: 20, seed: 1 },
    });
    expect(
      await requestFingerprint("post", "/v1/reconstructions", {
        params: { seed: 1, steps: 20 },
        model: "sim01",
      }),
    ).toBe(a);
    expect(
      await requestFingerprint("POST", "/v1/reconstructions", {
        model: "sim01",
        params: { steps: 21, seed: 1 },
      }),
    ).not.toBe(a);
    expect(
      await requestFingerprint("POST", "/v1/embeddings", { model: "sim01", params: { steps: 20, seed: 1 } }),
    ).not.toBe(a);
    expect(await requestFingerprint("POST", "/v1/x", new Uint8Array([1, 2]))).not.toBe(
      await requestFingerprint("POST", "/v1/x", new Uint8Array([1, 3])),
    );
  });

  it("are the SHA-256 hex they were, so keys stored before still match", async () => {
    const hashOf = (...parts: (string | Uint8Array)[]) =>
      parts.reduce((hash, part) => hash.update(part), createHash("sha256")).digest("hex");
    expect(await requestFingerprint("post", "/v1/x", { b: 1, a: "é" })).toBe(
      hashOf("POST /v1/x\n", '{"a":"é","b":1}'),
    );
    expect(await requestFingerprint("PUT", "/v1/y", new Uint8Array([0, 255]))).toBe(
      hashOf("PUT /v1/y\n", new Uint8Array([0, 255])),
    );
  });
});

describe.each(databaseBackends)("idempotency: $name", (backend) => {
  let db: Database;
  let jobs: JobStore;
  let lab: string;
  beforeAll(async () => {
    db = await backend.open();
    jobs = new JobStore(db, embedded);
    lab = await createLab(db);
  });
  afterAll(async () => {
    await db.close();
  });

  const body = { kind: "reconstruction", inputs: { upload_id: "upl_1" } };
  const createJob = (labId: string) => async (tx: Parameters<Parameters<IdempotencyStore["run"]>[1]>[0]) => ({
    status: 202,
    body: await jobs.create({ labId, kind: body.kind, inputs: body.inputs }, tx),
  });
  const jobCount = async (labId: string) =>
    (await db.query<{ n: number }>("select count(*)::int8 as n from jobs where lab_id = $1", [labId]))[0]!.n;

  it("replays the stored response for the same key and body, creating once", async () => {
    const store = new IdempotencyStore(db);
    const own = await createLab(db);
    const scope = {
      labId: own,
      key: "key-1",
      fingerprint: await requestFingerprint("POST", "/v1/reconstructions", body),
    };
    const first = await store.run(scope, createJob(own));
    const second = await store.run(scope, createJob(own));
    expect(first.replayed).toBe(false);
    expect(second).toEqual({ ...first, replayed: true });
    expect(await jobCount(own)).toBe(1);
  });

  it("scopes keys per lab", async () => {
    const store = new IdempotencyStore(db);
    const [a, b] = [await createLab(db), await createLab(db)];
    const fingerprint = await requestFingerprint("POST", "/v1/reconstructions", body);
    const ra = await store.run({ labId: a, key: "shared", fingerprint }, createJob(a));
    const rb = await store.run({ labId: b, key: "shared", fingerprint }, createJob(b));
    expect(rb.replayed).toBe(false);
    expect((rb.body as { id: string }).id).not.toBe((ra.body as { id: string }).id);
  });

  it("refuses the same key with a different body (422)", async () => {
    const store = new IdempotencyStore(db);
    await store.run({ labId: lab, key: "key-2", fingerprint: "a" }, createJob(lab));
    await expect(
      store.run({ labId: lab, key: "key-2", fingerprint: "b" }, createJob(lab)),
    ).rejects.toMatchObject({
      code: "idempotency_key_reused",
      status: 422,
    });
  });

  it("stores a 4xx outcome and replays it; frees the key after a 5xx", async () => {
    const store = new IdempotencyStore(db);
    const refuse = async () => {
      throw new ApiError("model_not_found", "No model sim99.");
    };
    await expect(store.run({ labId: lab, key: "key-3", fingerprint: "f" }, refuse)).rejects.toMatchObject({
      code: "model_not_found",
    });
    const replay = await store.run({ labId: lab, key: "key-3", fingerprint: "f" }, createJob(lab));
    expect(replay).toMatchObject({
      status: 404,
      replayed: true,
      body: { code: "model_not_found", detail: "No model sim99." },
    });

    const crash = async () => {
      throw new Error("database hiccup");
    };
    await expect(store.run({ labId: lab, key: "key-4", fingerprint: "f" }, crash)).rejects.toThrow("hiccup");
    expect(await store.run({ labId: lab, key: "key-4", fingerprint: "f" }, createJob(lab))).toMatchObject({
      status: 202,
      replayed: false,
    });
  });

  it("answers idempotency_key_in_use (409) while the first request is still running past the wait", async () => {
    const store = new IdempotencyStore(db, { waitMs: 100 });
    const own = await createLab(db);
    // The first request's record, held for another minute: it is still creating.
    await db.query(
      `insert into idempotency_keys (lab_id, key, fingerprint, owner_token, locked_until, expires_at)
       values ($1, 'key-5', 'f', 'first', now() + interval '1 minute', now() + interval '1 day')`,
      [own],
    );
    const started = Date.now();
    await expect(
      store.run({ labId: own, key: "key-5", fingerprint: "f" }, createJob(own)),
    ).rejects.toMatchObject({
      code: "idempotency_key_in_use",
      status: 409,
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(await jobCount(own)).toBe(0);
  });

  it("forgets keys after their time: the key creates again, and prune removes expired records", async () => {
    const store = new IdempotencyStore(db, { ttlMs: 1 });
    const own = await createLab(db);
    await store.run({ labId: own, key: "key-6", fingerprint: "f" }, createJob(own));
    await sleep(20);
    expect(await store.run({ labId: own, key: "key-6", fingerprint: "other" }, createJob(own))).toMatchObject(
      {
        replayed: false,
      },
    );
    expect(await jobCount(own)).toBe(2);
    await sleep(20);
    expect(await store.prune()).toBeGreaterThanOrEqual(1);
  });

  it("takes over a key whose request died while holding it", async () => {
    const store = new IdempotencyStore(db, { lockMs: 1 });
    const own = await createLab(db);
    await db.query(
      `insert into idempotency_keys (lab_id, key, fingerprint, owner_token, locked_until, expires_at)
       values ($1, 'key-7', 'f', 'dead', now(), now() + interval '1 day')`,
      [own],
    );
    expect(await store.run({ labId: own, key: "key-7", fingerprint: "f" }, createJob(own))).toMatchObject({
      status: 202,
      replayed: false,
    });
  });
});

describe.each(databaseBackends.filter((b) => b.name === "postgres"))(
  "idempotency under concurrency: $name",
  (backend) => {
    let db: Database;
    beforeAll(async () => {
      db = await backend.open();
    });
    afterAll(async () => {
      await db.close();
    });

    it("50 concurrent creates with one Idempotency-Key make one job, and all get its response", async () => {
      const lab = await createLab(db);
      const jobs = new JobStore(db, embedded);
      const store = new IdempotencyStore(db, { waitMs: 10_000 });
      const fingerprint = await requestFingerprint("POST", "/v1/reconstructions", { inputs: { n: 1 } });
      const results = await Promise.all(
        Array.from({ length: 50 }, () =>
          store.run({ labId: lab, key: "same-key", fingerprint }, async (tx) => {
            const job = await jobs.create({ labId: lab, kind: "reconstruction", inputs: { n: 1 } }, tx);
            // Hold the creation open a little, so the others really overlap it.
            await sleep(50);
            return { status: 202, body: job };
          }),
        ),
      );
      const [{ n }] = (await db.query<{ n: number }>(
        "select count(*)::int8 as n from jobs where lab_id = $1",
        [lab],
      )) as [{ n: number }];
      expect(n).toBe(1);
      expect(new Set(results.map((r) => (r.body as { id: string }).id)).size).toBe(1);
      expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    });
  },
);
