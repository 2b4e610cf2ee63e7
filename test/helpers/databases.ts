import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Database } from "../../core/db/database.ts";
import { migrate } from "../../core/db/migrate.ts";
import { openPglite } from "../../core/db/pglite.ts";
import { openPostgres } from "../../core/db/postgres.ts";

/** The PostgreSQL server the suites use; the machine and .ci/run start it (trust auth, database `test`). */
export const TEST_POSTGRES_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export interface DatabaseBackend {
  name: "pglite" | "postgres";
  /** A fresh, migrated, empty database; dropped again by the returned database's close(). */
  open(): Promise<Database>;
}

/** An empty database on the test server, by URL (for child processes too), and how to drop it. */
export async function createServerDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `mindeye_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const dropper = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await dropper.connect();
      await dropper.query(`drop database if exists ${name} with (force)`);
      await dropper.end();
    },
  };
}

async function freshServerDatabase(): Promise<Database> {
  const created = await createServerDatabase();
  const db = await openPostgres(created.url);
  await migrate(db);
  return {
    ...db,
    async close() {
      await db.close();
      await created.drop();
    },
  };
}

export const databaseBackends: DatabaseBackend[] = [
  {
    name: "pglite",
    async open() {
      const db = await openPglite();
      await migrate(db);
      return db;
    },
  },
  { name: "postgres", open: freshServerDatabase },
];
