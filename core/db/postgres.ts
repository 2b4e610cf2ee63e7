import pg from "pg";
import type { Database, Sql } from "./database.ts";

// int8 (counts, sums) as numbers, as PGlite returns them; our values stay far below 2^53.
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === 20
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** A PostgreSQL server reached through a connection pool. */
export async function openPostgres(connectionString: string, maxConnections = 10): Promise<Database> {
  const pool = new pg.Pool({ connectionString, max: maxConnections, types });
  // An idle client that loses its connection must not crash the process.
  pool.on("error", () => {});
  await pool.query("select 1");
  const asSql = (q: pg.Pool | pg.PoolClient): Sql => ({
    query: async <Row>(text: string, params?: readonly unknown[]) =>
      (await q.query(text, params as unknown[] | undefined)).rows as Row[],
    exec: async (script) => {
      await q.query(script);
    },
  });
  return {
    kind: "postgres",
    ...asSql(pool),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query("begin");
        const result = await fn(asSql(client));
        await client.query("commit");
        return result;
      } catch (error) {
        await client.query("rollback").catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async listen(channel, onNotify) {
      const client = await pool.connect();
      const handler = (msg: pg.Notification) => {
        if (msg.channel === channel) onNotify(msg.payload ?? "");
      };
      client.on("notification", handler);
      await client.query(`listen ${pg.escapeIdentifier(channel)}`);
      return async () => {
        client.off("notification", handler);
        await client.query(`unlisten ${pg.escapeIdentifier(channel)}`).catch(() => {});
        client.release();
      };
    },
    close: () => pool.end(),
  };
}
