// Uploads, job outputs and model bundles. Uploads expire (UPLOAD_TTL_HOURS) and so do their objects.
export const bucket = new sst.aws.Bucket("Blobs", {
  cors: {
    allowMethods: ["PUT", "GET"],
    allowOrigins: ["*"],
    allowHeaders: ["content-type", "content-length"],
  },
  transform: {
    bucket: (args) => {
      args.forceDestroy = $app.stage !== "production";
    },
  },
});

new aws.s3.BucketLifecycleConfigurationV2("BlobsLifecycle", {
  bucket: bucket.name,
  rules: [
    { id: "expire-uploads", status: "Enabled", filter: { prefix: "uploads/" }, expiration: { days: 4 } },
    { id: "expire-outputs", status: "Enabled", filter: { prefix: "outputs/" }, expiration: { days: 30 } },
  ],
});
