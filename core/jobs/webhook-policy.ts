import type { Config } from "../config.ts";
import type { WebhookUrlPolicy } from "./webhook-url-guard.ts";

/** Where webhooks may point: the embedded default allows local http receivers, deployments only public https. */
export function webhookUrlPolicy(
  config: Pick<Config, "WEBHOOK_ALLOW_PRIVATE" | "WEBHOOK_ALLOW_HTTP">,
): WebhookUrlPolicy {
  return {
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE ?? false,
    allowHttp: config.WEBHOOK_ALLOW_HTTP ?? false,
  };
}
