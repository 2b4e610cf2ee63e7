import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Config } from "../config.ts";
import { holdDataDir } from "../data-dir.ts";
import type { Database } from "./database.ts";
import { migrate } from "./migrate.ts";
import { openPglite } from "./pglite.ts";
import { openPostgres } from "./postgres.ts";

/**
 * The configured database, migrated: a server when DATABASE_URL is set, else PGlite in
 * `<data dir>/pgdata`. PGlite can be open in one process only, so the data dir is held while it is open;
 * the returned database's close() lets it go.
 */
export async function openConfiguredDatabase(
  config: Pick<Config, "DATABASE_URL" | "dataDir">,
): Promise<Database> {
  if (config.DATABASE_URL) {
    const db = await openPostgres(config.DATABASE_URL);
    await migrate(db);
    return db;
  }
  const release = await holdDataDir(config.dataDir);
  try {
    const dir = path.join(config.dataDir, "pgdata");
    await mkdir(dir, { recursive: true });
    const db = await openPglite(dir);
    await migrate(db);
    return {
      ...db,
      async close() {
        await db.close();
        await release();
      },
    };
  } catch (error) {
    await release();
    throw error;
  }
}
