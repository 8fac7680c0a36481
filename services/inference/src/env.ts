import { z } from "zod";
import { logLevel, natsUrl, port } from "@asgard/config";

export const InferenceEnv = z.object({
  NATS_URL: natsUrl(),
  METRICS_PORT: port(0).describe("port of this service's /metrics endpoint; 0 = a free port (default 0)"),
  LOG_LEVEL: logLevel(),
});
export type InferenceEnv = z.infer<typeof InferenceEnv>;
