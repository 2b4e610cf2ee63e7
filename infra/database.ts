import { network } from "./network";

// Jobs, keys, idempotency records, the webhook outbox and ingest progress (the same SQL migrations as PGlite).
export const database = new sst.aws.Postgres("State", {
  vpc: network,
  version: "16.4",
  instance: "t4g.medium",
  storage: "50 GB",
});

export const databaseUrl = $interpolate`postgres://${database.username}:${database.password}@${database.host}:${database.port}/${database.database}`;
