import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseBackends } from "../../test/helpers/databases.ts";
import type { Database } from "../db/database.ts";
import { JobLeases } from "./job-leases.ts";
import { JobStore } from "./job-store.ts";
import { createLab } from "./test-support/lab.ts";

describe.each(databaseBackends)("job progress across a re-claim: $name", (backend) => {
  let db: Database;
  let lab: string;
  beforeAll(async () => {
    db = await backend.open();
    lab = await createLab(db);
  });
  afterAll(async () => {
    await db.close();
  });

  it("never goes backwards when a second worker starts the job over", async () => {
    const jobs = new JobStore(db, { allowPrivate: true, allowHttp: true });
    const leases = new JobLeases(db);
    const job = await jobs.create({ labId: lab, kind: "progress-test", inputs: {} });
    const [first] = await leases.claim("worker-a", ["progress-test"], 1, 200);
    expect(first?.id).toBe(job.id);
    await leases.progress(
      { jobId: job.id, labId: lab, owner: "worker-a" },
      10432 / 20000,
      "10432 of 20000",
      200,
    );
    await sleep(300); // worker-a died: its lease runs out

    const [again] = await leases.claim("worker-b", ["progress-test"], 1, 60_000);
    expect(again?.id).toBe(job.id);
    const lease = { jobId: job.id, labId: lab, owner: "worker-b" };
    await leases.progress(lease, 7744 / 20000, "7744 of 20000", 60_000);
    expect(await jobs.get(lab, job.id)).toMatchObject({
      progress: 10432 / 20000,
      progress_message: "10432 of 20000",
    });

    await leases.progress(lease, 12000 / 20000, "12000 of 20000", 60_000);
    expect(await jobs.get(lab, job.id)).toMatchObject({
      progress: 12000 / 20000,
      progress_message: "12000 of 20000",
    });
  });
});
