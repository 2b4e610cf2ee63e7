import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseBackends } from "../../test/helpers/databases.ts";
import type { Database } from "../db/database.ts";
import { createLab } from "./test-support/lab.ts";
import { WebhookSecretStore } from "./webhook-secrets.ts";

describe.each(databaseBackends)("webhook secret rotation: $name", (backend) => {
  let db: Database;
  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => {
    await db.close();
  });

  it("lets 10 concurrent rotations all succeed, ending with one current and one previous secret", async () => {
    const lab = await createLab(db);
    const secrets = new WebhookSecretStore(db);
    const first = await secrets.get(lab);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => secrets.rotate(lab)));
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    const after = await secrets.get(lab);
    const made = new Set(results.map((r) => (r.status === "fulfilled" ? r.value.secret : "")));
    expect(made.size).toBe(10);
    expect(made.has(after.secret)).toBe(true);
    expect(after.previous).toHaveLength(1);
    const signing = await secrets.signingSecrets(lab);
    expect(signing).toHaveLength(2);
    expect(signing).not.toContain(first.secret);
  });
});
