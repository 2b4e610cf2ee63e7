import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseBackends } from "../../test/helpers/databases.ts";
import type { Database } from "../db/database.ts";
import { createLab } from "../jobs/test-support/lab.ts";
import { LabRateLimiter } from "./lab-rate-limiter.ts";

describe.each(databaseBackends)("lab rate limiter: $name", (backend) => {
  let db: Database;
  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(() => db.close());

  it("lets exactly the burst through when many requests arrive at once", async () => {
    const lab = await createLab(db);
    // One request per 100 s after the burst: none of the 40 can be a refill.
    const limiter = new LabRateLimiter(db, { perSecond: 0.01, burst: 5 });
    const decisions = await Promise.all(Array.from({ length: 40 }, () => limiter.take(lab)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(5);
    const waits = decisions.flatMap((d) => (d.allowed ? [] : [d.retryAfterSeconds]));
    // The next free slot is one interval (100 s) after the burst began.
    for (const wait of waits) {
      expect(wait).toBeGreaterThan(95);
      expect(wait).toBeLessThanOrEqual(101);
    }
  });

  it("refills at the sustained rate", async () => {
    const lab = await createLab(db);
    const limiter = new LabRateLimiter(db, { perSecond: 20, burst: 1 });
    expect((await limiter.take(lab)).allowed).toBe(true);
    expect((await limiter.take(lab)).allowed).toBe(false);
    await new Promise((r) => setTimeout(r, 80));
    expect((await limiter.take(lab)).allowed).toBe(true);
  });
});
