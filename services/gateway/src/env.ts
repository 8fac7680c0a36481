import { z } from "zod";
import { logLevel, NATS_AUTH_INCOMPLETE, natsAuthComplete, natsAuthFields, natsUrl, port, positiveInt, streamReplicas } from "@asgard/config";
import { DEFAULT_UPLOAD_LIMITS, jobMaximaFields, MAX_RATE_LIMIT_PER_MINUTE } from "@asgard/contracts";
import { DEFAULT_LIMITS } from "./limits/settings.js";

export const GatewayEnv = z
  .object({
    NATS_URL: natsUrl(),
    ...natsAuthFields(),
    // The gateway declares the AUDIT stream and its KV buckets (API keys, rate counts).
    NATS_STREAM_REPLICAS: streamReplicas(),
    PORT: port(8000).describe("port the HTTP API listens on (default 8000)"),
    HOST: z
      .string()
      .min(1)
      .default("127.0.0.1")
      .describe(
        "address the HTTP API binds (default 127.0.0.1). On a loopback address the gateway runs in local mode: it answers only requests addressed to localhost, 127.0.0.1 or [::1], and refuses cross-site browser requests",
      ),
    BODY_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(2 * 1024 * 1024)
      .describe("largest request body in bytes, at least 1024 (default 2097152)"),
    MIN_TIMEOUT_SECONDS: z.coerce
      .number()
      .int()
      .min(1)
      .default(DEFAULT_UPLOAD_LIMITS.minTimeoutSeconds)
      .describe(
        `shortest training \`timeout\` an upload may ask for, in seconds: a whole number ≥ 1 and ≤ MAX_TIMEOUT_SECONDS (default ${DEFAULT_UPLOAD_LIMITS.minTimeoutSeconds})`,
      ),
    MAX_TIMEOUT_SECONDS: z.coerce
      .number()
      .int()
      .min(1)
      .default(DEFAULT_UPLOAD_LIMITS.maxTimeoutSeconds)
      .describe(
        `longest training \`timeout\` an upload may ask for, in seconds: a whole number ≥ MIN_TIMEOUT_SECONDS (default ${DEFAULT_UPLOAD_LIMITS.maxTimeoutSeconds})`,
      ),
    // Capped at 512 KiB: the base64 script travels in one NATS message (1 MiB max_payload by default).
    MAX_SCRIPT_BYTES: z.coerce
      .number()
      .int()
      .min(1)
      .max(DEFAULT_UPLOAD_LIMITS.maxScriptBytes)
      .default(DEFAULT_UPLOAD_LIMITS.maxScriptBytes)
      .describe(
        `largest uploaded script in bytes (decoded), 1..${DEFAULT_UPLOAD_LIMITS.maxScriptBytes} (default ${DEFAULT_UPLOAD_LIMITS.maxScriptBytes})`,
      ),
    ...jobMaximaFields(),
    BOOTSTRAP_ADMIN_KEY: z
      .string()
      .regex(/^asg_[a-z2-7]{16}_[A-Za-z0-9_-]{43}$/, "must be a key made by `npm run keys -- bootstrap-secret` (asg_<id>_<secret>)")
      .optional()
      .describe(
        "an admin API key the gateway stores (as its hash) when no key with its id exists yet: how a deployment gets its first key; `npm run keys -- bootstrap-secret` makes one (default: none)",
      ),
    RATE_LIMIT_PER_MINUTE: positiveInt(
      DEFAULT_LIMITS.ratePerMinute,
      "requests per minute an API key may make, counted across every gateway replica (a key created with its own rate_limit_per_minute uses that instead)",
      MAX_RATE_LIMIT_PER_MINUTE,
    ),
    LOCAL_RATE_LIMIT_PER_MINUTE: positiveInt(
      DEFAULT_LIMITS.localRatePerMinute,
      "requests per minute that all clients of a gateway in local mode (loopback, no API key) may make together",
      MAX_RATE_LIMIT_PER_MINUTE,
    ),
    RATE_LIMIT_WINDOW_SECONDS: positiveInt(
      DEFAULT_LIMITS.rateWindowSeconds,
      "length of the fixed windows the request rate is counted in, in seconds; the limit per window is the per-minute rate scaled to it",
      3_600,
    ),
    LOG_STREAMS_PER_KEY: positiveInt(
      DEFAULT_LIMITS.logStreamsPerKey,
      "log streams (GET …/logs, Server-Sent Events) one API key may hold open at once on one gateway replica",
      100_000,
    ),
    LOCAL_LOG_STREAMS: positiveInt(
      DEFAULT_LIMITS.localLogStreams,
      "log streams all clients of a gateway in local mode may hold open at once",
      100_000,
    ),
    LOG_LEVEL: logLevel(),
  })
  .refine(natsAuthComplete, NATS_AUTH_INCOMPLETE)
  .refine((env) => env.MIN_TIMEOUT_SECONDS <= env.MAX_TIMEOUT_SECONDS, {
    path: ["MIN_TIMEOUT_SECONDS"],
    error: "must not exceed MAX_TIMEOUT_SECONDS",
  });
export type GatewayEnv = z.infer<typeof GatewayEnv>;
