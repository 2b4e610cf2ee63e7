/// <reference path="./.sst/platform/config.d.ts" />

/**
 * AWS deployment: the same code as `npm start`, with the adapters swapped for managed services
 * (ARCHITECTURE §3). Components live in infra/, one concern per file. `npx sst deploy --stage prod`.
 */
export default $config({
  app(input) {
    return {
      name: "mindeye-serve",
      home: "aws",
      removal: input?.stage === "production" ? "retain" : "remove",
      protect: input?.stage === "production",
    };
  },
  async run() {
    const { network } = await import("./infra/network");
    const { secrets } = await import("./infra/secrets");
    const { bucket } = await import("./infra/storage");
    const { database } = await import("./infra/database");
    const { worker } = await import("./infra/worker");
    const { api } = await import("./infra/api");
    return {
      api: api.url,
      bucket: bucket.name,
      worker: worker.url,
      database: database.host,
      vpc: network.id,
      qdrant: secrets.qdrantUrl.value,
    };
  },
});
