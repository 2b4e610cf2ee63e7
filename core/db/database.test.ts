import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseBackends } from "../../test/helpers/databases.ts";
import type { Database } from "./database.ts";
import { migrate } from "./migrate.ts";

describe.each(databaseBackends)("database contract: $name", (backend) => {
  let db: Database;
  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => {
    await db.close();
  });

  it("applied every migration once, and a second run applies none", async () => {
    const rows = await db.query<{ name: string }>("select name from schema_migrations order by name");
    expect(rows.map((r) => r.name)).toContain("001_labs_and_keys.sql");
    expect(await migrate(db)).toEqual([]);
  });

  it("binds parameters and returns int8 as numbers and jsonb as objects", async () => {
    const [row] = await db.query<{ n: number; j: { a: number[] }; t: Date }>(
      "select $1::int8 as n, $2::jsonb as j, now() as t",
      [42, JSON.stringify({ a: [1, 2] })],
    );
    expect(row).toMatchObject({ n: 42, j: { a: [1, 2] } });
    expect(row!.t).toBeInstanceOf(Date);
  });

  it("commits a transaction that resolves and rolls back one that throws", async () => {
    await db.exec("create table tx_probe (v int)");
    await db.transaction(async (tx) => {
      await tx.query("insert into tx_probe values (1)");
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.query("insert into tx_probe values (2)");
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await db.query("select v from tx_probe")).toEqual([{ v: 1 }]);
  });

  it("delivers NOTIFY payloads to listeners until they unsubscribe", async () => {
    const got: string[] = [];
    const unsubscribe = await db.listen("probe_channel", (p) => got.push(p));
    await db.query("select pg_notify('probe_channel', 'one')");
    await expect.poll(() => got).toEqual(["one"]);
    await unsubscribe();
    await db.query("select pg_notify('probe_channel', 'two')");
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual(["one"]);
  });

  it("enforces lab ownership of keys by foreign key", async () => {
    await expect(
      db.query("insert into api_keys (id, lab_id, prefix, key_hash) values ('k1', 'no-such-lab', 'p', 'h')"),
    ).rejects.toThrow();
  });
});
