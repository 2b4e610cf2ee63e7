import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseBackends } from "../../test/helpers/databases.ts";
import { ApiKeyStore } from "../auth/api-keys.ts";
import type { Database } from "../db/database.ts";
import { AuditLog } from "./audit-log.ts";

describe.each(databaseBackends)("audit log: $name", (backend) => {
  let db: Database;
  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => {
    await db.close();
  });

  it("stores every field as given, a resource id with quotes, backslashes and SQL in it included", async () => {
    const keys = new ApiKeyStore(db);
    const lab = await keys.authenticate((await keys.create("audited")).key);
    const audit = new AuditLog(db);
    const hostile = `upl_'); drop table audit_events; --\\' \\\\ $1 "x" é`;
    await audit.record({
      labId: lab.id,
      keyId: lab.keyId,
      action: "upload.read",
      resourceType: "upload",
      resourceId: hostile,
      status: 404,
      requestId: "req_1",
    });
    await audit.record({
      labId: lab.id,
      keyId: null,
      action: "blob.get",
      resourceType: "blob",
      resourceId: null,
      status: 200,
      requestId: null,
    });
    const { data } = await audit.list(lab.id, { limit: 10 });
    expect(data.map(({ id: _id, created_at: _at, ...event }) => event)).toEqual([
      {
        key_id: null,
        action: "blob.get",
        resource_type: "blob",
        resource_id: null,
        status: 200,
        request_id: null,
      },
      {
        key_id: lab.keyId,
        action: "upload.read",
        resource_type: "upload",
        resource_id: hostile,
        status: 404,
        request_id: "req_1",
      },
    ]);
  });
});
