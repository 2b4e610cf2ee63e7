import { PGlite } from "@electric-sql/pglite";
import type { Database, Sql } from "./database.ts";

/** Embedded PostgreSQL (WASM) kept in a folder of the data dir; `undefined` keeps it in memory. */
export async function openPglite(dataDir?: string): Promise<Database> {
  const pg = await PGlite.create(dataDir);
  const asSql = (q: Pick<PGlite, "query" | "exec">): Sql => ({
    query: async <Row>(text: string, params?: readonly unknown[]) =>
      (await q.query<Row>(text, params as unknown[] | undefined)).rows,
    exec: async (script) => {
      await q.exec(script);
    },
  });
  return {
    kind: "pglite",
    ...asSql(pg),
    transaction: (fn) => pg.transaction((tx) => fn(asSql(tx))),
    listen: async (channel, onNotify) => {
      const unsubscribe = await pg.listen(channel, onNotify);
      return async () => unsubscribe();
    },
    close: () => pg.close(),
  };
}
