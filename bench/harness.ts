import os from "node:os";

/** Machine details printed with every benchmark, so numbers are never quoted without their hardware. */
export function machineLine(): string {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  return `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

export interface Timing {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** This process's CPU time (user + system) per call: on a shared, loaded machine it moves less than wall time. */
  cpuUs: number;
}

/** Runs `fn` `count` times with `concurrency` in flight, after a warm-up; returns throughput and latency. */
export async function measure(fn: () => Promise<unknown>, count: number, concurrency = 1): Promise<Timing> {
  for (let i = 0; i < Math.min(200, count / 10); i++) await fn();
  const latencies: number[] = [];
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        const t = performance.now();
        await fn();
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return {
    perSecond: count / seconds,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    cpuUs: (used.user + used.system) / count,
  };
}

export const fmt = (n: number, digits = 2) => n.toFixed(digits);
