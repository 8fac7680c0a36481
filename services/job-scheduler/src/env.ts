import { z } from "zod";
import { logLevel, natsUrl, optionalString, port } from "@asgard/config";

export const SchedulerEnv = z.object({
  NATS_URL: natsUrl(),
  DATABASE_URL: optionalString(
    "PostgreSQL URL, e.g. postgres://user:pass@host:5432/asgard; unset = the embedded database in ASGARD_DATA_DIR",
  ).pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, "a postgres:// or postgresql:// URL")
      .optional(),
  ),
  ASGARD_DATA_DIR: z.string().min(1).default(".asgard").describe("directory for embedded data (default .asgard)"),
  METRICS_PORT: port(0).describe("port of this service's /metrics endpoint; 0 = a free port (default 0)"),
  LOG_LEVEL: logLevel(),
});
export type SchedulerEnv = z.infer<typeof SchedulerEnv>;
