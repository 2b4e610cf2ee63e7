import { databaseUrl } from "./database";
import { network } from "./network";
import { secrets } from "./secrets";
import { bucket } from "./storage";

/**
 * The GPU workers (gpu-worker/Dockerfile, `mindeye worker`) on ECS: the model server the API reaches at
 * WORKER_URL, and the job runtime: each claims async jobs from the database and runs them on its own
 * GPU, sends the webhooks and sweeps expired uploads (docs/deployment.md, "Which process runs what").
 * SST's Service runs on Fargate, which has no GPUs, so the cluster gets an EC2 capacity provider of GPU
 * instances (ECS GPU-optimised AMI) and the task reserves one GPU.
 */
const cluster = new sst.aws.Cluster("Workers", { vpc: network });

const gpuAmi = aws.ssm.getParameterOutput({
  name: "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id",
});

const instanceRole = new aws.iam.Role("GpuInstanceRole", {
  assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "ec2.amazonaws.com" }),
  managedPolicyArns: [
    "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
  ],
});
const instanceProfile = new aws.iam.InstanceProfile("GpuInstanceProfile", { role: instanceRole.name });

const launchTemplate = new aws.ec2.LaunchTemplate("GpuLaunchTemplate", {
  imageId: gpuAmi.value,
  instanceType: "g5.xlarge", // A10G 24 GB: MindEye1 fp16 (~2.5 GB of weights per subject) with room to batch
  iamInstanceProfile: { arn: instanceProfile.arn },
  vpcSecurityGroupIds: network.securityGroups,
  userData: cluster.nodes.cluster.name.apply((name) =>
    Buffer.from(
      `#!/bin/bash\necho ECS_CLUSTER=${name} >> /etc/ecs/ecs.config\necho ECS_ENABLE_GPU_SUPPORT=true >> /etc/ecs/ecs.config\n`,
    ).toString("base64"),
  ),
  blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 200, volumeType: "gp3" } }],
});

const autoscaling = new aws.autoscaling.Group("GpuInstances", {
  vpcZoneIdentifiers: network.privateSubnets,
  minSize: 1,
  maxSize: 8,
  launchTemplate: { id: launchTemplate.id, version: "$Latest" },
  protectFromScaleIn: true,
  tags: [{ key: "AmazonECSManaged", value: "true", propagateAtLaunch: true }],
});

const capacityProvider = new aws.ecs.CapacityProvider("GpuCapacity", {
  autoScalingGroupProvider: {
    autoScalingGroupArn: autoscaling.arn,
    managedScaling: { status: "ENABLED", targetCapacity: 100 },
    managedTerminationProtection: "ENABLED",
  },
});
new aws.ecs.ClusterCapacityProviders("WorkersCapacity", {
  clusterName: cluster.nodes.cluster.name,
  capacityProviders: [capacityProvider.name],
});

// The worker image is built and pushed outside Pulumi (docs/deployment.md):
//   docker build -f gpu-worker/Dockerfile -t $REPO:$TAG . && docker push $REPO:$TAG
// and named at deploy time: WORKER_IMAGE=$REPO:$TAG npx sst deploy --stage prod
export const workerRepository = new aws.ecr.Repository("WorkerRepo", {
  forceDelete: $app.stage !== "production",
});
const workerImage = process.env.WORKER_IMAGE ?? $interpolate`${workerRepository.repositoryUrl}:latest`;

const taskRole = new aws.iam.Role("WorkerTaskRole", {
  assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "ecs-tasks.amazonaws.com" }),
  inlinePolicies: [
    {
      name: "blobs",
      policy: bucket.arn.apply((arn) =>
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              // Delete: the sweeper removes expired uploads' files.
              Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"],
              Resource: [arn, `${arn}/*`],
            },
          ],
        }),
      ),
    },
  ],
});

const executionRole = new aws.iam.Role("WorkerExecutionRole", {
  assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "ecs-tasks.amazonaws.com" }),
  managedPolicyArns: ["arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"],
});

const taskDefinition = new aws.ecs.TaskDefinition("WorkerTask", {
  family: $interpolate`${$app.name}-${$app.stage}-worker`,
  requiresCompatibilities: ["EC2"],
  networkMode: "awsvpc",
  taskRoleArn: taskRole.arn,
  executionRoleArn: executionRole.arn,
  containerDefinitions: $jsonStringify([
    {
      name: "worker",
      image: workerImage,
      essential: true,
      memoryReservation: 12_000,
      // SIGTERM: finish requests (10 s), let running jobs finish or release them (a lease, 30 s).
      stopTimeout: 60,
      resourceRequirements: [{ type: "GPU", value: "1" }],
      portMappings: [{ containerPort: 8788 }],
      // The image's CMD, spelled out: models, jobs, webhooks and sweeps in every task.
      command: ["node", "cli/bin/mindeye.mjs", "worker"],
      environment: [
        { name: "ORT_PROVIDERS", value: "cuda,cpu" },
        { name: "MODEL_BUNDLES", value: $interpolate`s3://${bucket.name}/bundles` },
        { name: "BLOB_STORE", value: $interpolate`s3://${bucket.name}/` },
        { name: "DATABASE_URL", value: databaseUrl },
        { name: "VECTOR_STORE", value: "qdrant://" },
        { name: "QDRANT_URL", value: secrets.qdrantUrl.value },
        { name: "QDRANT_API_KEY", value: secrets.qdrantApiKey.value },
        { name: "SIGNING_SECRET", value: secrets.signingSecret.value },
        // Webhooks leave from here: only public https targets.
        { name: "WEBHOOK_ALLOW_PRIVATE", value: "false" },
        { name: "WEBHOOK_ALLOW_HTTP", value: "false" },
        { name: "JOB_CONCURRENCY", value: "2" },
        { name: "JOB_MAX_RUNNING_PER_LAB", value: "4" },
      ],
      healthCheck: {
        command: ["CMD-SHELL", "curl -fsS http://127.0.0.1:8788/v2/health/ready || exit 1"],
        interval: 15,
        timeout: 5,
        retries: 3,
        startPeriod: 300,
      },
    },
  ]),
});

// A private DNS name for the workers, so the API's WORKER_URL survives task replacements.
const namespace = new aws.servicediscovery.PrivateDnsNamespace("Internal", {
  name: $interpolate`${$app.name}.internal`,
  vpc: network.id,
});
const discovery = new aws.servicediscovery.Service("WorkerDiscovery", {
  name: "worker",
  dnsConfig: { namespaceId: namespace.id, dnsRecords: [{ type: "A", ttl: 10 }], routingPolicy: "MULTIVALUE" },
  healthCheckCustomConfig: { failureThreshold: 1 },
});

const service = new aws.ecs.Service("WorkerService", {
  cluster: cluster.nodes.cluster.arn,
  taskDefinition: taskDefinition.arn,
  desiredCount: 1,
  capacityProviderStrategies: [{ capacityProvider: capacityProvider.name, weight: 1 }],
  networkConfiguration: { subnets: network.privateSubnets, securityGroups: network.securityGroups },
  serviceRegistries: { registryArn: discovery.arn },
});

export const worker = {
  service,
  url: $interpolate`http://worker.${$app.name}.internal:8788`,
};
