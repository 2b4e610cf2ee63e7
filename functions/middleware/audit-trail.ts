import type { Context } from "hono";
import type { App, AppEnv } from "../env.ts";

/** The routes that read or change a lab's data, by method and route pattern: action and resource type. */
const AUDITED: Record<string, [action: string, resourceType: string]> = {
  "POST /v1/uploads": ["upload.create", "upload"],
  "GET /v1/uploads/:id": ["upload.read", "upload"],
  "POST /v1/uploads/:id/complete": ["upload.complete", "upload"],
  "DELETE /v1/uploads/:id": ["upload.delete", "upload"],
  "POST /v1/embeddings": ["embeddings.create", "job"],
  "POST /v1/retrievals": ["retrievals.create", "job"],
  "POST /v1/retrievals/candidates": ["retrievals.create", "job"],
  "POST /v1/reconstructions": ["reconstructions.create", "job"],
  "GET /v1/jobs": ["job.list", "job"],
  "GET /v1/jobs/:id": ["job.read", "job"],
  "GET /v1/jobs/:id/events": ["job.watch", "job"],
  "POST /v1/jobs/:id/cancel": ["job.cancel", "job"],
  "DELETE /v1/jobs/:id": ["job.delete", "job"],
  "GET /v1/jobs/:id/deliveries": ["job_deliveries.read", "job"],
  "POST /v1/jobs/:id/deliveries/:event_id/redeliver": ["job_event.redeliver", "job"],
  "GET /v1/webhooks/secret": ["webhook_secret.read", "webhook_secret"],
  "POST /v1/webhooks/secret/rotate": ["webhook_secret.rotate", "webhook_secret"],
  "GET /v1/audit-events": ["audit_events.read", "audit_events"],
};

/**
 * Records each request to an audited route after it ran, refused ones included, with the caller's lab and
 * key. The resource is the path's id, or for a create the id it answered with. Registered on the audited
 * routes alone (after auth, before the routes), so no other request pays for an async layer and a lookup.
 */
export function registerAuditTrail(app: App): void {
  for (const [route, [action, resourceType]] of Object.entries(AUDITED)) {
    const [method, path] = route.split(" ") as [string, string];
    app.on(method, path, async (c, next) => {
      await next();
      const lab = c.get("lab");
      // A HEAD runs the GET route; it was never audited.
      if (!lab || c.req.method !== method) return;
      await c.get("services").audit.record({
        labId: lab.id,
        keyId: lab.keyId,
        action,
        resourceType,
        resourceId: c.req.param("id") ?? (await createdId(c)),
        status: c.res.status,
        requestId: c.get("requestId") ?? null,
      });
    });
  }
}

/** The `id` a create answered with (201 upload, 202 job), or null; 200 answers can be megabytes. */
async function createdId(c: Context<AppEnv>): Promise<string | null> {
  if (c.req.method !== "POST" || (c.res.status !== 201 && c.res.status !== 202)) return null;
  if (!c.res.headers.get("content-type")?.includes("json")) return null;
  const body = (await c.res.clone().json()) as { id?: unknown };
  return typeof body.id === "string" ? body.id : null;
}
