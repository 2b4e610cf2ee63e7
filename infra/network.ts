// One VPC for the database, the API function and the GPU workers; NAT so workers can pull bundles from S3.
export const network = new sst.aws.Vpc("Network", { nat: "managed", bastion: false });
