/**
 * Cost of the per-lab rate limit (one UPSERT per /v1 request) on a trivial authenticated route: the same
 * app with and without the limiter, on PGlite and on the PostgreSQL server, in-process through
 * `app.request`. The limit is set far above the offered load, so every request is let through.
 */
import { LabRateLimiter } from "../core/auth/lab-rate-limiter.ts";
import type { Database } from "../core/db/database.ts";
import { migrate } from "../core/db/migrate.ts";
import { openPostgres } from "../core/db/postgres.ts";
import { createServerDatabase } from "../test/helpers/databases.ts";
import { createHarness } from "../test/helpers/harness.ts";
import { fmt, machineLine, measure } from "./harness.ts";

const COUNT = Number(process.env.BENCH_COUNT ?? 3000);
const unreachable = { perSecond: 1e9, burst: 1e9 };

console.log(`# Per-lab rate limit — ${machineLine()}`);
console.log(
  "| database | concurrency | without req/s | with req/s | ratio (with/without) | without p50 ms | with p50 ms | with p99 ms |",
);
console.log("|---|---|---|---|---|---|---|---|");

const server = await createServerDatabase();
const pg = await openPostgres(server.url);
await migrate(pg);
const backends: [string, (() => Database) | undefined][] = [
  ["PGlite", undefined],
  ["PostgreSQL (local server)", () => pg],
];
for (const [name, limiterDb] of backends) {
  const plain = await createHarness();
  const limited = await createHarness((base) => ({
    rateLimiter: new LabRateLimiter(limiterDb?.() ?? base.db, unreachable),
  }));
  // The limiter's row needs the lab in its own database.
  const key = await limited.keyFor("bench");
  if (limiterDb) {
    const [{ id }] = (await limited.db.query<{ id: string }>("select id from labs where name = 'bench'")) as [
      { id: string },
    ];
    await pg.query("insert into labs (id, name) values ($1, 'bench') on conflict do nothing", [id]);
  }
  const plainKey = await plain.keyFor("bench");
  for (const concurrency of [1, 32]) {
    const run = (h: typeof plain, k: string) =>
      measure(
        async () => {
          const res = await h.app.request("http://x/v1/lab", { headers: { authorization: `Bearer ${k}` } });
          if (res.status !== 200) throw new Error(`unexpected ${res.status}`);
        },
        COUNT,
        concurrency,
      );
    const without = await run(plain, plainKey);
    const withLimit = await run(limited, key);
    console.log(
      `| ${name} | ${concurrency} | ${fmt(without.perSecond, 0)} | ${fmt(withLimit.perSecond, 0)} | ${fmt(withLimit.perSecond / without.perSecond, 3)} | ${fmt(without.p50Ms, 3)} | ${fmt(withLimit.p50Ms, 3)} | ${fmt(withLimit.p99Ms, 3)} |`,
    );
  }
  await plain.close();
  await limited.close();
}
await pg.close();
await server.drop();
