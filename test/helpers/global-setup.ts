import pg from "pg";
import { TEST_POSTGRES_URL } from "./databases.ts";
import { SHARED_FIXTURES, sharedFixturesMissing } from "./shared-fixtures.ts";

/**
 * The database suites run against a real PostgreSQL server as well as PGlite. If the server does not
 * answer, stop here with instructions instead of letting half the suite fail or, worse, skip.
 */
export default async function checkPostgres(): Promise<void> {
  if (sharedFixturesMissing)
    console.warn(
      `\n*** ${SHARED_FIXTURES} is missing: the suites on real third-party files are SKIPPED (their names say so). ` +
        "Lay the project's shared/ folder beside the clone to run them; CI always does.\n",
    );
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query("select 1");
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${TEST_POSTGRES_URL} (${(error as Error).message}). ` +
        "Run `bash .ci/run`, which starts it, or set TEST_DATABASE_URL to a server the tests may create databases on.",
    );
  } finally {
    await client.end().catch(() => {});
  }
}
