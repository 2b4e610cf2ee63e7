/**
 * Overhead of the API stack (request id, access log + metrics, API-key auth against PGlite, problem
 * handling, zod-openapi routing) on a trivial authenticated route, against a bare Hono app answering the
 * same JSON, both in-process through `app.request` so the network is not what is measured. The two
 * alternate over several rounds and the median round's ratios are reported, since a shared machine's
 * load drifts within a run: by throughput, and by this process's CPU time per request (which other
 * tenants' load moves less).
 */
import { Hono } from "hono";
import { createHarness } from "../test/helpers/harness.ts";
import { fmt, machineLine, measure, type Timing } from "./harness.ts";

const COUNT = Number(process.env.BENCH_COUNT ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const bare = new Hono();
bare.get("/v1/lab", (c) => c.json({ id: "lab_x", name: "bench", key_id: "key_x" }));

const h = await createHarness();
const key = await h.keyFor("bench");
const headers = { authorization: `Bearer ${key}` };

console.log(`# API overhead — ${machineLine()}`);
console.log(
  "| concurrency | bare Hono req/s | mindeye req/s | ratio (mindeye/bare) | ratio range | bare CPU µs/req | mindeye CPU µs/req | CPU ratio (bare/mindeye) | mindeye p50 ms | mindeye p99 ms |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const concurrency of [1, 32]) {
  const rounds: { base: Timing; ours: Timing; ratio: number }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const base = await measure(async () => bare.request("http://x/v1/lab", { headers }), COUNT, concurrency);
    const ours = await measure(
      async () => {
        const res = await h.app.request("http://x/v1/lab", { headers });
        if (res.status !== 200) throw new Error(`unexpected ${res.status}`);
      },
      COUNT,
      concurrency,
    );
    rounds.push({ base, ours, ratio: ours.perSecond / base.perSecond });
  }
  const median = <T>(values: T[], by: (v: T) => number) =>
    [...values].sort((a, b) => by(a) - by(b))[Math.floor(values.length / 2)]!;
  rounds.sort((a, b) => a.ratio - b.ratio);
  const { base, ours, ratio } = median(rounds, (r) => r.ratio);
  const cpu = median(rounds, (r) => r.base.cpuUs / r.ours.cpuUs);
  console.log(
    `| ${concurrency} | ${fmt(base.perSecond, 0)} | ${fmt(ours.perSecond, 0)} | ${fmt(ratio, 3)} | ${fmt(rounds[0]!.ratio, 2)}-${fmt(rounds.at(-1)!.ratio, 2)} | ${fmt(cpu.base.cpuUs, 1)} | ${fmt(cpu.ours.cpuUs, 1)} | ${fmt(cpu.base.cpuUs / cpu.ours.cpuUs, 3)} | ${fmt(ours.p50Ms, 3)} | ${fmt(ours.p99Ms, 3)} |`,
  );
}
await h.close();
