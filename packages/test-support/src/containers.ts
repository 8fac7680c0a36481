import { randomBytes } from "node:crypto";
import { GenericContainer, Wait, type StartedTestContainer } from "testcontainers";
import { TOOL_VERSIONS } from "@asgard/tools";

/**
 * The same servers the local-process path starts, taken from a Docker engine through
 * testcontainers. Used only where an engine answers on its socket; our CI machines have
 * none, so this path is not exercised there (the README says so). Tests that start
 * private servers of their own (a second NATS, an MLflow on PostgreSQL) still run them as
 * local processes.
 */
export interface ContainerInfra {
  natsUrl: string;
  mlflowUrl: string;
  /** Set when no DATABASE_URL was given: a throwaway PostgreSQL. */
  postgresUrl: string | null;
  s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };
  stop(): Promise<void>;
}

export async function startContainerInfra(options: { needPostgres: boolean }): Promise<ContainerInfra> {
  const started: StartedTestContainer[] = [];
  try {
    const nats = await new GenericContainer(`nats:${TOOL_VERSIONS.natsServer}`)
      .withCommand(["-js", "-sd", "/data"])
      .withExposedPorts(4222)
      .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
      .start();
    started.push(nats);

    const mlflow = await new GenericContainer(`ghcr.io/mlflow/mlflow:v${TOOL_VERSIONS.mlflow}`)
      .withCommand([
        "mlflow", "server", "--host", "0.0.0.0", "--port", "5000",
        "--backend-store-uri", "sqlite:////tmp/mlflow.db",
        "--serve-artifacts", "--artifacts-destination", "/tmp/artifacts",
      ])
      .withEnvironment({ MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false" })
      .withExposedPorts(5000)
      .withWaitStrategy(Wait.forHttp("/health", 5000))
      .start();
    started.push(mlflow);

    let postgresUrl: string | null = null;
    if (options.needPostgres) {
      const pg = await new GenericContainer("postgres:15")
        .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: "trust" })
        .withExposedPorts(5432)
        .withWaitStrategy(Wait.forLogMessage(/ready to accept connections/, 2))
        .start();
      started.push(pg);
      postgresUrl = `postgres://postgres@${pg.getHost()}:${pg.getMappedPort(5432)}/postgres`;
    }

    const accessKeyId = randomBytes(8).toString("hex");
    const secretAccessKey = randomBytes(16).toString("hex");
    const identities = { identities: [{ name: "asgard", credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }], actions: ["Admin", "Read", "Write", "List", "Tagging"] }] };
    const seaweed = await new GenericContainer("chrislusf/seaweedfs")
      .withCopyContentToContainer([{ content: JSON.stringify(identities), target: "/etc/seaweedfs/s3.json" }])
      .withCommand(["server", "-s3", "-s3.config=/etc/seaweedfs/s3.json", "-master.telemetry=false"])
      .withExposedPorts(8333)
      .withWaitStrategy(Wait.forListeningPorts())
      .start();
    started.push(seaweed);

    return {
      natsUrl: `nats://${nats.getHost()}:${nats.getMappedPort(4222)}`,
      mlflowUrl: `http://${mlflow.getHost()}:${mlflow.getMappedPort(5000)}`,
      postgresUrl,
      s3: { endpoint: `http://${seaweed.getHost()}:${seaweed.getMappedPort(8333)}`, region: "us-east-1", accessKeyId, secretAccessKey },
      async stop() {
        for (const c of started.reverse()) await c.stop().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const c of started.reverse()) await c.stop().catch(() => undefined);
    throw err;
  }
}
