import type { WebhookSecretRecord } from "../contracts/jobs.ts";
import type { Database } from "../db/database.ts";
import { newWebhookSecret } from "./webhook-signing.ts";

/** How long a rotated-out secret keeps signing deliveries, so receivers can switch without a gap. */
export const DEFAULT_ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;

interface SecretRow {
  secret: string;
  created_at: Date;
  expires_at: Date | null;
}

/** Per-lab webhook signing secrets: one current, plus rotated-out ones until their grace period ends. */
export class WebhookSecretStore {
  constructor(private readonly db: Database) {}

  /** The lab's current secret and the rotated-out ones still valid, creating the first secret on first use. */
  async get(labId: string): Promise<WebhookSecretRecord> {
    const rows = await this.validSecrets(labId);
    const [current, ...previous] = rows;
    return {
      secret: current!.secret,
      created_at: current!.created_at.toISOString(),
      previous: previous.map((r) => ({
        created_at: r.created_at.toISOString(),
        expires_at: r.expires_at!.toISOString(),
      })),
    };
  }

  /** Every secret that signs a delivery now: the current one first, then those in their grace period. */
  async signingSecrets(labId: string): Promise<string[]> {
    return (await this.validSecrets(labId)).map((r) => r.secret);
  }

  /** Makes a new current secret; the old one keeps signing (and verifying) for `graceMs`. */
  async rotate(labId: string, graceMs = DEFAULT_ROTATION_GRACE_MS): Promise<WebhookSecretRecord> {
    await this.db.transaction(async (tx) => {
      await tx.query(
        `update webhook_secrets set expires_at = now() + $2 * interval '1 millisecond'
          where lab_id = $1 and expires_at is null`,
        [labId, graceMs],
      );
      await tx.query("insert into webhook_secrets (lab_id, secret) values ($1, $2)", [
        labId,
        newWebhookSecret(),
      ]);
    });
    return this.get(labId);
  }

  private async validSecrets(labId: string): Promise<SecretRow[]> {
    const select = () =>
      this.db.query<SecretRow>(
        `select secret, created_at, expires_at from webhook_secrets
          where lab_id = $1 and (expires_at is null or expires_at > now())
          order by expires_at desc nulls first`,
        [labId],
      );
    const rows = await select();
    if (rows[0]?.expires_at === null) return rows;
    // First use: the partial unique index makes concurrent first uses agree on one secret.
    await this.db.query(
      `insert into webhook_secrets (lab_id, secret) values ($1, $2)
        on conflict (lab_id) where expires_at is null do nothing`,
      [labId, newWebhookSecret()],
    );
    return select();
  }
}
