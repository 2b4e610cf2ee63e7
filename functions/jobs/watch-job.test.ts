import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../core/db/database.ts";
import { JobStore } from "../../core/jobs/job-store.ts";
import { createLab } from "../../core/jobs/test-support/lab.ts";
import { databaseBackends } from "../../test/helpers/databases.ts";
import { watchJob } from "./watch-job.ts";

/** The same database, counting the bytes of every result it returns: what each poll costs. */
function counting(db: Database): { db: Database; bytes(): number } {
  let bytes = 0;
  const counted: Database = Object.create(db);
  counted.query = async (text, params) => {
    const rows = await db.query(text, params);
    bytes += JSON.stringify(rows).length;
    return rows as never;
  };
  return { db: Object.assign(counted, { query: counted.query }), bytes: () => bytes };
}

describe.each(databaseBackends)("watching a job: $name", (backend) => {
  let db: Database;
  let lab: string;
  beforeAll(async () => {
    db = await backend.open();
    lab = await createLab(db);
  });
  afterAll(async () => {
    await db.close();
  });

  it("reads only status and progress while nothing changes, not the job's row with its inputs", async () => {
    const inputs = { betas: { values: Array.from({ length: 60 }, () => Array(100).fill(0.123456)) } };
    const job = await new JobStore(db, { allowPrivate: true, allowHttp: true }).create({
      labId: lab,
      kind: "watched",
      inputs,
    });
    expect(JSON.stringify(inputs).length).toBeGreaterThan(50_000);
    const observed = counting(db);
    const jobs = new JobStore(observed.db, { allowPrivate: true, allowHttp: true });
    const controller = new AbortController();
    const seen: string[] = [];
    let polls = 0;
    const started = observed.bytes();
    const done = (async () => {
      for await (const state of watchJob(jobs, lab, job.id, { signal: controller.signal, pollMs: 20 })) {
        seen.push(state.status);
        expect(state).not.toHaveProperty("inputs");
      }
    })();
    // Let it poll about ten times with nothing changing.
    while (polls < 10) {
      await new Promise((r) => setTimeout(r, 20));
      polls++;
    }
    controller.abort();
    await done;
    expect(seen).toEqual(["queued"]);
    // Every poll together read less than one copy of the inputs would weigh.
    expect(observed.bytes() - started).toBeLessThan(10_000);
  });
});
