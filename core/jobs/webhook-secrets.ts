import type { WebhookSecretRecord } from "../contracts/jobs.ts";
import type { Database, Sql } from "../db/database.ts";
import { newWebhookSecret } from "./webhook-signing.ts";

/** How long a rotated-out secret keeps signing deliveries, so receivers can switch without a gap. */
export const DEFAULT_ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;

interface SecretRow {
  secret: string;
  created_at: Date;
  expires_at: Date | null;
}

/** Per-lab webhook signing secrets: one current, plus the rotated-out one until its grace period ends. */
export class WebhookSecretStore {
  constructor(private readonly db: Database) {}

  /** The lab's current secret and the rotated-out one still valid, creating the first secret on first use. */
  async get(labId: string): Promise<WebhookSecretRecord> {
    return toRecord(await this.validSecrets(labId));
  }

  /** Every secret that signs a delivery now: the current one first, then those in their grace period. */
  async signingSecrets(labId: string): Promise<string[]> {
    return (await this.validSecrets(labId)).map((r) => r.secret);
  }

  /**
   * Makes a new current secret; the old one keeps signing (and verifying) for `graceMs`. One previous
   * secret is kept: rotating again ends the older one's grace period. Rotations of one lab queue on its
   * labs row, so concurrent ones each succeed in turn instead of colliding on the current-secret index.
   */
  async rotate(labId: string, graceMs = DEFAULT_ROTATION_GRACE_MS): Promise<WebhookSecretRecord> {
    return this.db.transaction(async (tx) => {
      await tx.query("select 1 from labs where id = $1 for update", [labId]);
      await tx.query("delete from webhook_secrets where lab_id = $1 and expires_at is not null", [labId]);
      await tx.query(
        `update webhook_secrets set expires_at = now() + $2 * interval '1 millisecond'
          where lab_id = $1 and expires_at is null`,
        [labId, graceMs],
      );
      await tx.query("insert into webhook_secrets (lab_id, secret) values ($1, $2)", [
        labId,
        newWebhookSecret(),
      ]);
      return toRecord(await selectValid(tx, labId));
    });
  }

  private async validSecrets(labId: string): Promise<SecretRow[]> {
    const rows = await selectValid(this.db, labId);
    if (rows[0]?.expires_at === null) return rows;
    // First use: the partial unique index makes concurrent first uses agree on one secret.
    await this.db.query(
      `insert into webhook_secrets (lab_id, secret) values ($1, $2)
        on conflict (lab_id) where expires_at is null do nothing`,
      [labId, newWebhookSecret()],
    );
    return selectValid(this.db, labId);
  }
}

const selectValid = (sql: Sql, labId: string) =>
  sql.query<SecretRow>(
    `select secret, created_at, expires_at from webhook_secrets
      where lab_id = $1 and (expires_at is null or expires_at > now())
      order by expires_at desc nulls first`,
    [labId],
  );

function toRecord([current, ...previous]: SecretRow[]): WebhookSecretRecord {
  return {
    secret: current!.secret,
    created_at: current!.created_at.toISOString(),
    previous: previous.map((r) => ({
      created_at: r.created_at.toISOString(),
      expires_at: r.expires_at!.toISOString(),
    })),
  };
}
