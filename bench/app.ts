/**
 * Overhead of the API stack (request id, access log + metrics, API-key auth against PGlite, problem
 * handling, zod-openapi routing) on a trivial authenticated route, against a bare Hono app answering the
 * same JSON, both in-process through `app.request` so the network is not what is measured. The apps
 * alternate over several rounds and the median round's ratios are reported, since a shared machine's
 * load drifts within a run: by throughput, and by this process's CPU time per request (which other
 * tenants' load moves less). `BENCH_BEFORE=<dir>` adds the app of another checkout (e.g. main's tree from
 * `git archive`, with node_modules linked) to the same rounds, for a before/after in one run.
 */
import path from "node:path";
import { Hono } from "hono";
import { createHarness, type Harness } from "../test/helpers/harness.ts";
import { fmt, machineLine, measure, type Timing } from "./harness.ts";

const COUNT = Number(process.env.BENCH_COUNT ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BEFORE = process.env.BENCH_BEFORE;

const bare = new Hono();
bare.get("/v1/lab", (c) => c.json({ id: "lab_x", name: "bench", key_id: "key_x" }));

async function served(harness: Harness) {
  const headers = { authorization: `Bearer ${await harness.keyFor("bench")}` };
  return async () => {
    const res = await harness.app.request("http://x/v1/lab", { headers });
    if (res.status !== 200) throw new Error(`unexpected ${res.status}`);
  };
}

const harnesses: Harness[] = [await createHarness()];
const apps: [name: string, request: () => Promise<unknown>][] = [["mindeye", await served(harnesses[0]!)]];
if (BEFORE) {
  const other = (await import(path.resolve(BEFORE, "test/helpers/harness.ts"))) as {
    createHarness: typeof createHarness;
  };
  harnesses.push(await other.createHarness());
  apps.unshift([`before (${BEFORE})`, await served(harnesses[1]!)]);
}
const bareRequest = async () =>
  bare.request("http://x/v1/lab", { headers: { authorization: "Bearer mk_x" } });

console.log(`# API overhead — ${machineLine()}`);
console.log(
  "| app | concurrency | bare Hono req/s | app req/s | ratio (app/bare) | ratio range | bare CPU µs/req | app CPU µs/req | CPU ratio (bare/app) | app p50 ms | app p99 ms |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|");
const median = <T>(values: T[], by: (v: T) => number) =>
  [...values].sort((a, b) => by(a) - by(b))[Math.floor(values.length / 2)]!;
for (const concurrency of [1, 32]) {
  const rounds = new Map<string, { base: Timing; ours: Timing; ratio: number }[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, request] of apps) {
      const base = await measure(bareRequest, COUNT, concurrency);
      const ours = await measure(request, COUNT, concurrency);
      rounds.set(name, [...(rounds.get(name) ?? []), { base, ours, ratio: ours.perSecond / base.perSecond }]);
    }
  }
  for (const [name, measured] of rounds) {
    measured.sort((a, b) => a.ratio - b.ratio);
    const { base, ours, ratio } = median(measured, (r) => r.ratio);
    const cpu = median(measured, (r) => r.base.cpuUs / r.ours.cpuUs);
    console.log(
      `| ${name} | ${concurrency} | ${fmt(base.perSecond, 0)} | ${fmt(ours.perSecond, 0)} | ${fmt(ratio, 3)} | ${fmt(measured[0]!.ratio, 2)}-${fmt(measured.at(-1)!.ratio, 2)} | ${fmt(cpu.base.cpuUs, 1)} | ${fmt(cpu.ours.cpuUs, 1)} | ${fmt(cpu.base.cpuUs / cpu.ours.cpuUs, 3)} | ${fmt(ours.p50Ms, 3)} | ${fmt(ours.p99Ms, 3)} |`,
    );
  }
}
for (const harness of harnesses) await harness.close();
