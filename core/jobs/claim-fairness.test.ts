import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseBackends } from "../../test/helpers/databases.ts";
import type { Database } from "../db/database.ts";
import { JobLeases } from "./job-leases.ts";
import { JobStore } from "./job-store.ts";
import { createLab } from "./test-support/lab.ts";

const LEASE_MS = 60_000;

describe.each(databaseBackends)("claiming across labs: $name", (backend) => {
  let db: Database;
  let jobs: JobStore;
  let leases: JobLeases;
  beforeAll(async () => {
    db = await backend.open();
    jobs = new JobStore(db, { allowPrivate: true, allowHttp: true });
    leases = new JobLeases(db);
  });
  afterAll(() => db.close());

  /** `count` queued jobs of `kind` for `lab`, the oldest an hour ago, a millisecond apart. */
  async function queueMany(lab: string, kind: string, count: number): Promise<void> {
    await db.query(
      `insert into jobs (id, lab_id, kind, inputs, created_at)
       select $1 || '_' || $2 || '_' || g, $1, $2, '{}', now() - interval '1 hour' + g * interval '1 millisecond'
         from generate_series(1, $3::int) g`,
      [lab, kind, count],
    );
  }
  const labsOf = (rows: { lab_id: string }[]) => rows.map((r) => r.lab_id);

  it("does not let one lab's thousand queued jobs starve another lab's one", async () => {
    const [busy, small] = [await createLab(db), await createLab(db)];
    await queueMany(busy, "fair", 1000);
    const lone = await jobs.create({ labId: small, kind: "fair", inputs: {} });

    // Oldest first would hand out the busy lab's thousand before the small lab's job.
    const first = await leases.claim("w1", ["fair"], 1, LEASE_MS);
    const second = await leases.claim("w1", ["fair"], 1, LEASE_MS);
    expect(labsOf([...first, ...second]).sort()).toEqual([busy, small].sort());
    expect([...first, ...second].find((r) => r.lab_id === small)?.id).toBe(lone.id);

    // Within each lab the order stays oldest first.
    expect(first.concat(second).find((r) => r.lab_id === busy)?.id).toBe(`${busy}_fair_1`);
  });

  it("hands out a batch round-robin: every lab's oldest before any lab's second", async () => {
    const labs = [await createLab(db), await createLab(db), await createLab(db)];
    for (const lab of labs) await queueMany(lab, "round", 5);
    const claimed = await leases.claim("w1", ["round"], 6, LEASE_MS);
    const perLab = labs.map((lab) => claimed.filter((r) => r.lab_id === lab).map((r) => r.id));
    expect(perLab).toEqual(labs.map((lab) => [`${lab}_round_1`, `${lab}_round_2`]));
  });

  it("caps a lab's running jobs, and frees a slot when one finishes", async () => {
    const [busy, other] = [await createLab(db), await createLab(db)];
    await queueMany(busy, "capped", 10);
    await queueMany(other, "capped", 1);
    const claimed = await leases.claim("w1", ["capped"], 10, LEASE_MS, 3);
    expect(labsOf(claimed).filter((l) => l === busy)).toHaveLength(3);
    expect(labsOf(claimed).filter((l) => l === other)).toHaveLength(1);
    expect(await leases.claim("w2", ["capped"], 10, LEASE_MS, 3)).toEqual([]);

    const done = claimed.find((r) => r.lab_id === busy)!;
    expect(await leases.succeed({ jobId: done.id, labId: busy, owner: "w1" }, {})).toBe(true);
    const next = await leases.claim("w2", ["capped"], 10, LEASE_MS, 3);
    expect(labsOf(next)).toEqual([busy]);
  });

  it("counts running jobs of every kind against the cap", async () => {
    const lab = await createLab(db);
    await queueMany(lab, "kind-a", 2);
    await queueMany(lab, "kind-b", 2);
    expect(await leases.claim("w1", ["kind-a"], 5, LEASE_MS, 2)).toHaveLength(2);
    expect(await leases.claim("w1", ["kind-b"], 5, LEASE_MS, 2)).toEqual([]);
  });

  it("holds the cap when many workers claim at once", async () => {
    const lab = await createLab(db);
    await queueMany(lab, "race", 20);
    const claims = await Promise.all(
      Array.from({ length: 6 }, (_, i) => leases.claim(`w${i}`, ["race"], 4, LEASE_MS, 3)),
    );
    const ids = claims.flat().map((r) => r.id);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
    const [{ n }] = (await db.query<{ n: number }>(
      "select count(*)::int as n from jobs where lab_id = $1 and status = 'running'",
      [lab],
    )) as [{ n: number }];
    expect(n).toBe(3);
  });
});
