import { ApiError } from "../contracts/errors.ts";
import type { Sql } from "../db/database.ts";

export interface AuditEventInput {
  labId: string;
  /** The API key used; null for a presigned URL, whose signature is the authorization. */
  keyId: string | null;
  /** `<resource>.<verb>`, e.g. `upload.delete`, `job_outputs.read`, `blob.get`. */
  action: string;
  resourceType: string;
  resourceId: string | null;
  /** The HTTP status the access got: refused attempts are recorded too. */
  status: number;
  requestId: string | null;
}

export interface AuditEvent {
  id: string;
  created_at: string;
  key_id: string | null;
  action: string;
  resource_type: string;
  resource_id: string | null;
  status: number;
  request_id: string | null;
}

interface Row {
  id: string | number;
  created_at: Date;
  key_id: string | null;
  action: string;
  resource_type: string;
  resource_id: string | null;
  status: number;
  request_id: string | null;
}

/** The audit trail: append-only, and each lab reads only its own events. */
export class AuditLog {
  constructor(private readonly db: Sql) {}

  async record(event: AuditEventInput): Promise<void> {
    await this.db.query(
      `insert into audit_events (lab_id, key_id, action, resource_type, resource_id, status, request_id)
       values ($1, $2, $3, $4, $5, $6, $7)`,
      [
        event.labId,
        event.keyId,
        event.action,
        event.resourceType,
        event.resourceId,
        event.status,
        event.requestId,
      ],
    );
  }

  /** Newest first; `cursor` is the last id of the previous page. */
  async list(
    labId: string,
    query: { limit: number; cursor?: string; resourceId?: string },
  ): Promise<{ data: AuditEvent[]; next_cursor: string | null }> {
    if (query.cursor !== undefined && !/^\d{1,18}$/.test(query.cursor)) {
      throw new ApiError("invalid_request", "cursor must be the next_cursor of a previous page.");
    }
    const rows = await this.db.query<Row>(
      `select id, created_at, key_id, action, resource_type, resource_id, status, request_id
         from audit_events
        where lab_id = $1 and ($2::int8 is null or id < $2) and ($3::text is null or resource_id = $3)
        order by id desc limit $4`,
      [labId, query.cursor ?? null, query.resourceId ?? null, query.limit + 1],
    );
    const page = rows.slice(0, query.limit).map((r) => ({
      ...r,
      id: String(r.id),
      created_at: r.created_at.toISOString(),
    }));
    return { data: page, next_cursor: rows.length > query.limit ? page.at(-1)!.id : null };
  }
}
