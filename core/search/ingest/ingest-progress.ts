import { ApiError } from "../../contracts/errors.ts";
import type { Database } from "../../db/database.ts";
import { newId } from "../../ids.ts";

export interface IngestRun {
  id: string;
  indexName: string;
  source: string;
  settings: string;
  status: "running" | "completed";
  shardsTotal: number;
  /** Shards already stored, with their counts. */
  committed: Map<number, { rowsRead: number; rowsStored: number }>;
}

/** Ingest progress in PostgreSQL (tables from migration 004_ingest.sql). */
export class IngestProgress {
  constructor(private readonly db: Database) {}

  /**
   * The run for this index and source: resumed when one exists with the same settings, started when none
   * does. `restart` forgets committed shards (ingest is idempotent, so they are simply stored again).
   */
  async begin(
    indexName: string,
    source: string,
    settings: string,
    shardsTotal: number,
    restart: boolean,
  ): Promise<IngestRun> {
    return this.db.transaction(async (tx) => {
      const [existing] = await tx.query<{ id: string; settings: string }>(
        "select id, settings from ingest_runs where index_name = $1 and source = $2 for update",
        [indexName, source],
      );
      if (existing && existing.settings !== settings && !restart) {
        throw new ApiError(
          "conflict",
          `an ingest of ${source} into "${indexName}" ran with other settings (${existing.settings}); rerun with --restart to start over with these`,
        );
      }
      const id = existing?.id ?? newId("ing");
      if (existing) {
        if (restart) await tx.query("delete from ingest_shards where run_id = $1", [id]);
        await tx.query(
          "update ingest_runs set settings = $2, shards_total = $3, status = 'running', completed_at = null, updated_at = now() where id = $1",
          [id, settings, shardsTotal],
        );
      } else {
        await tx.query(
          "insert into ingest_runs (id, index_name, source, settings, shards_total) values ($1, $2, $3, $4, $5)",
          [id, indexName, source, settings, shardsTotal],
        );
      }
      const rows = await tx.query<{ shard: number; rows_read: number; rows_stored: number }>(
        "select shard, rows_read, rows_stored from ingest_shards where run_id = $1",
        [id],
      );
      const committed = new Map(
        rows.map((r) => [r.shard, { rowsRead: r.rows_read, rowsStored: r.rows_stored }]),
      );
      return { id, indexName, source, settings, status: "running", shardsTotal, committed };
    });
  }

  /** Call only after the index has made the shard durable (VectorIndex.flush). */
  async commitShard(run: IngestRun, shard: number, rowsRead: number, rowsStored: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(
        `insert into ingest_shards (run_id, shard, rows_read, rows_stored) values ($1, $2, $3, $4)
         on conflict (run_id, shard) do update set rows_read = excluded.rows_read, rows_stored = excluded.rows_stored, committed_at = now()`,
        [run.id, shard, rowsRead, rowsStored],
      );
      await tx.query("update ingest_runs set updated_at = now() where id = $1", [run.id]);
    });
    run.committed.set(shard, { rowsRead, rowsStored });
  }

  async complete(run: IngestRun): Promise<void> {
    await this.db.query(
      "update ingest_runs set status = 'completed', completed_at = now(), updated_at = now() where id = $1",
      [run.id],
    );
    run.status = "completed";
  }
}
