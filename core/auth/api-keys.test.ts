import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseBackends } from "../../test/helpers/databases.ts";
import type { Database } from "../db/database.ts";
import { ApiKeyStore } from "./api-keys.ts";

describe.each(databaseBackends)("ApiKeyStore: $name", (backend) => {
  let db: Database;
  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(() => db.close());

  it("stops a key revoked elsewhere once its cache period has passed, and one revoked here at once", async () => {
    const store = new ApiKeyStore(db, 100);
    const { key, info } = await store.create("lab-cache");
    expect((await store.authenticate(key)).name).toBe("lab-cache");
    // Another process revokes it in the database: this store may serve it until its cache period ends.
    await db.query("update api_keys set revoked_at = now() where id = $1", [info.id]);
    await new Promise((r) => setTimeout(r, 150));
    await expect(store.authenticate(key)).rejects.toMatchObject({ code: "unauthorized" });

    const second = await store.create("lab-cache");
    await store.authenticate(second.key);
    await store.revoke(second.info.id);
    await expect(store.authenticate(second.key)).rejects.toMatchObject({ code: "unauthorized" });
  });

  it("refuses a revoke by a prefix that several keys share", async () => {
    const store = new ApiKeyStore(db);
    const lab = await store.ensureLab("lab-prefix");
    for (const n of [1, 2]) {
      await db.query(
        "insert into api_keys (id, lab_id, prefix, key_hash) values ($1, $2, 'mk_SAMEPREF', $3)",
        [`key_same${n}`, lab.id, `hash${n}`],
      );
    }
    await expect(store.revoke("mk_SAMEPREF")).rejects.toMatchObject({ code: "conflict" });
    expect((await store.list("lab-prefix")).every((k) => k.revokedAt === null)).toBe(true);
    await expect(store.revoke("key_nope")).rejects.toMatchObject({ code: "not_found" });
  });
});
