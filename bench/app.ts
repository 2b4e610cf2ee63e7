/**
 * Overhead of the API stack (request id, access log + metrics, API-key auth against PGlite, problem
 * handling, zod-openapi routing) on a trivial authenticated route, against a bare Hono app answering the
 * same JSON, both in-process through `app.request` so the network is not what is measured.
 */
import { Hono } from "hono";
import { createHarness } from "../test/helpers/harness.ts";
import { fmt, machineLine, measure } from "./harness.ts";

const COUNT = Number(process.env.BENCH_COUNT ?? 5000);

const bare = new Hono();
bare.get("/v1/lab", (c) => c.json({ id: "lab_x", name: "bench", key_id: "key_x" }));

const h = await createHarness();
const key = await h.keyFor("bench");
const headers = { authorization: `Bearer ${key}` };

console.log(`# API overhead — ${machineLine()}`);
console.log(
  "| concurrency | bare Hono req/s | mindeye req/s | ratio (mindeye/bare) | bare p50 ms | mindeye p50 ms | mindeye p99 ms |",
);
console.log("|---|---|---|---|---|---|---|");
for (const concurrency of [1, 32]) {
  const base = await measure(async () => bare.request("http://x/v1/lab", { headers }), COUNT, concurrency);
  const ours = await measure(
    async () => {
      const res = await h.app.request("http://x/v1/lab", { headers });
      if (res.status !== 200) throw new Error(`unexpected ${res.status}`);
    },
    COUNT,
    concurrency,
  );
  console.log(
    `| ${concurrency} | ${fmt(base.perSecond, 0)} | ${fmt(ours.perSecond, 0)} | ${fmt(ours.perSecond / base.perSecond, 3)} | ${fmt(base.p50Ms, 3)} | ${fmt(ours.p50Ms, 3)} | ${fmt(ours.p99Ms, 3)} |`,
  );
}
await h.close();
