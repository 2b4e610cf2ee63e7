/**
 * A job worker process for the crash test: its handler hangs on a job's first attempt (so the test can
 * SIGKILL it mid-job) and succeeds on any later one. Prints "running <job id> <attempt>" when a handler starts.
 */
import { openPostgres } from "../../db/postgres.ts";
import { startJobWorker } from "../job-worker.ts";

const db = await openPostgres(process.env.DATABASE_URL!);
const worker = await startJobWorker({
  db,
  leaseMs: Number(process.env.LEASE_MS ?? 1000),
  pollMs: 100,
  handlers: {
    crashy: async (job, ctx) => {
      console.log(`running ${job.id} ${ctx.attempt}`);
      await ctx.progress(0.5, "halfway");
      if (ctx.attempt === 1) await new Promise(() => {});
      return { attempt: ctx.attempt };
    },
  },
});
process.on("SIGTERM", async () => {
  await worker.stop({ graceMs: 1000 });
  await db.close();
  process.exit(0);
});
