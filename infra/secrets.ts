// Set with `npx sst secret set NAME value --stage STAGE`; never in the repository.
export const secrets = {
  /** HMAC key for signed URLs and internal tokens (32+ characters). */
  signingSecret: new sst.Secret("SigningSecret"),
  /** Qdrant cluster (Qdrant Cloud or self-hosted; docs/operations.md sizes it). */
  qdrantUrl: new sst.Secret("QdrantUrl"),
  qdrantApiKey: new sst.Secret("QdrantApiKey"),
  /** Bearer token Prometheus sends to scrape /metrics on the public API. */
  metricsToken: new sst.Secret("MetricsToken"),
};
