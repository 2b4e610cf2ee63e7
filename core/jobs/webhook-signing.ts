import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";

/** A new Standard Webhooks symmetric secret: `whsec_` and 32 random bytes in base64. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/**
 * The three Standard Webhooks headers for one attempt. With several secrets (during a rotation) the
 * signature header carries one `v1,<sig>` per secret, space-separated, so receivers holding either verify.
 */
export function signWebhook(
  secrets: readonly string[],
  id: string,
  timestampSeconds: number,
  payload: string,
): Record<"webhook-id" | "webhook-timestamp" | "webhook-signature", string> {
  const at = new Date(timestampSeconds * 1000);
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": secrets.map((secret) => new Webhook(secret).sign(id, at, payload)).join(" "),
  };
}
