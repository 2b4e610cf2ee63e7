import type { Logger } from "pino";
import type { AuditLog } from "../core/audit/audit-log.ts";
import type { ApiKeyStore } from "../core/auth/api-keys.ts";
import type { LabRateLimiter } from "../core/auth/lab-rate-limiter.ts";
import type { Database } from "../core/db/database.ts";
import type { InferenceService } from "../core/inference/inference.ts";
import type { IdempotencyStore } from "../core/jobs/idempotency.ts";
import type { JobStore } from "../core/jobs/job-store.ts";
import type { WebhookDeliveries } from "../core/jobs/webhook-deliveries.ts";
import type { WebhookSecretStore } from "../core/jobs/webhook-secrets.ts";
import type { HttpMetrics } from "../core/metrics/http-metrics.ts";
import type { VectorStore } from "../core/search/vector-index.ts";
import type { BlobStore } from "../core/storage/blob-store.ts";
import type { BetasReader } from "../core/uploads/betas-reader.ts";
import type { UploadStore } from "../core/uploads/upload-store.ts";

export interface Limits {
  /** Largest file a lab may upload. */
  uploadMaxBytes: number;
  uploadTtlHours: number;
  /** Most bytes a decoded file (or decompression) may produce in memory. */
  decodedMaxBytes: number;
  /** Most trials a synchronous request may embed; more goes to an async job. */
  syncMaxTrials: number;
  /** Largest JSON or .npy request body on the synchronous routes. */
  syncBodyBytes: number;
}

/**
 * Everything a route needs, handed to `createApp`. Node-only pieces (PGlite, files, native addons) live
 * behind these interfaces, so the app itself uses only Web-standard APIs.
 */
export interface AppServices {
  version: string;
  db: Database;
  apiKeys: ApiKeyStore;
  blobs: BlobStore;
  uploads: UploadStore;
  /** Reads uploaded betas files and .npy bodies (Node-only: files, h5wasm, zlib); `nodeBetasReader`. */
  betasReader: BetasReader;
  inference: InferenceService;
  vectors: VectorStore;
  jobs: JobStore;
  idempotency: IdempotencyStore;
  webhookSecrets: WebhookSecretStore;
  webhookDeliveries: WebhookDeliveries;
  /** Records every read or change of a lab's data. */
  audit: AuditLog;
  limits: Limits;
  log: Logger;
  metrics: HttpMetrics;
  /** Bearer token a Prometheus scrape must send; unset leaves /metrics open (the embedded default). */
  metricsToken?: string;
  /** Per-lab request rate on /v1; absent: no limit (the embedded default). */
  rateLimiter?: LabRateLimiter;
  /** Named probes for /readyz; each throws when its dependency is not usable. */
  readiness: Record<string, () => Promise<void>>;
  /** Checks a local presigned URL (embedded blob store only); absent when blobs live in S3. */
  localBlobUrls?: {
    verify(
      method: "PUT" | "GET",
      url: URL,
    ): Promise<{ key: string; maxBytes?: number; contentType?: string; contentDisposition?: string }>;
  };
  /** Scalar's bundle for the docs page, served by /docs/scalar.js so the page loads nothing from outside. */
  docsScript: () => Promise<Uint8Array<ArrayBuffer>>;
}
