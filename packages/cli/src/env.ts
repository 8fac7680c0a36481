import { z } from "zod";
import { httpUrl, logLevel, natsUrl, optionalString, port } from "@asgard/config";

/** What `npm start` reads; anything naming an external server replaces the embedded one. */
export const StartEnv = z.object({
  PORT: port(8000).describe("port of the HTTP API (default 8000)"),
  NATS_URL: natsUrl().optional().describe("use this NATS server instead of starting one, e.g. nats://127.0.0.1:4222"),
  MLFLOW_TRACKING_URI: httpUrl("MLflow server").optional().describe("use this MLflow server instead of starting one, e.g. http://mlflow:5000"),
  MLFLOW_PORT: port(5000).describe("port of the embedded MLflow server when free (default 5000)"),
  MLFLOW_AUTH: z
    .enum(["auto", "off", "basic"])
    .default("auto")
    .describe(
      "auto (default): basic as soon as the platform serves with API keys (HOST not loopback, BOOTSTRAP_ADMIN_KEY set, or a key created in an earlier run), off in local mode; off: one MLflow user on this machine; basic: the embedded MLflow runs its basic-auth app, each tenant's jobs act as that tenant's MLflow user",
    ),
  DATABASE_URL: optionalString("PostgreSQL URL for the job database; unset = embedded database"),
  ASGARD_DATA_DIR: z.string().min(1).default(".asgard").describe("directory for embedded data and logs (default .asgard)"),
  FEAST_REGISTRY_PATH: optionalString("Feast registry file whose feature views the status counts"),
  LOG_LEVEL: logLevel(),
});
export type StartEnv = z.infer<typeof StartEnv>;
