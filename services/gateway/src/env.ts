import { z } from "zod";
import { logLevel, natsUrl, port } from "@asgard/config";

export const GatewayEnv = z.object({
  NATS_URL: natsUrl(),
  PORT: port(8000).describe("port the HTTP API listens on (default 8000)"),
  HOST: z.string().min(1).default("0.0.0.0").describe("address the HTTP API binds (default 0.0.0.0)"),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(2 * 1024 * 1024)
    .describe("largest request body in bytes, at least 1024 (default 2097152)"),
  LOG_LEVEL: logLevel(),
});
export type GatewayEnv = z.infer<typeof GatewayEnv>;
