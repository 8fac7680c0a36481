import { z } from "zod";
import { jobMaximaFields } from "@asgard/contracts";
import { DEFAULT_SANDBOX_ID } from "@asgard/sandbox";
import { envConstraints, envExcludePackages, envSourceBuilds, httpUrl, logLevel, metricsHost, mlflowAdminFields, NATS_AUTH_INCOMPLETE, natsAuthComplete, natsAuthFields, natsUrl, optionalString, port, positiveMs, streamReplicas } from "@asgard/config";

const positiveInt = (fallback: number, what: string) =>
  z.coerce.number().int().positive().default(fallback).describe(`${what}: a positive integer (default ${fallback})`);

export const InferenceEnv = z.object({
  NATS_URL: natsUrl(),
  ...natsAuthFields(),
  NATS_STREAM_REPLICAS: streamReplicas(),
  MLFLOW_TRACKING_URI: httpUrl("MLflow tracking server URL (model versions and their files are read through it)"),
  ...mlflowAdminFields(),
  ASGARD_DATA_DIR: z.string().min(1).default(".asgard").describe("directory for local data (default .asgard)"),
  ENV_CACHE_DIR: optionalString("where model environments are cached (default ASGARD_DATA_DIR/envs, shared with the runners)"),
  ENV_DISK_BUDGET_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(20 * 1024 ** 3)
    .describe("disk budget of the environment cache in bytes (default 20 GiB)"),
  ENV_CONSTRAINTS: envConstraints(),
  ENV_EXCLUDE_PACKAGES: envExcludePackages(),
  ENV_SOURCE_BUILDS: envSourceBuilds(),
  // A source build gets a job's bounds at the deployment's maxima: set them as for the gateway.
  ...jobMaximaFields(),
  PIP_INDEX_URL_FOR_JOBS: optionalString("package index for job and model environments (default: PyPI / uv's default)"),
  ASGARD_PYTHON: z.string().min(1).default("python3").describe("interpreter model environments are built from (default python3)"),
  INFERENCE_INSTANCE_ID: optionalString("this replica's id in signals (default: random)"),
  INFERENCE_MAX_BATCH_ROWS: positiveInt(256, "most rows in one predict call"),
  INFERENCE_MAX_WAIT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(5)
    .describe("longest an idle worker waits for a batch to fill, in milliseconds; 0 = never (default 5)"),
  INFERENCE_MEMORY_BUDGET_BYTES: positiveInt(4 * 1024 ** 3, "resident memory all model workers may use, in bytes"),
  INFERENCE_LOAD_BACKOFF_MS: positiveMs(5_000, "pause before a model that failed to load is tried again (doubles per failure)"),
  INFERENCE_LOAD_WAIT_MS: positiveMs(30_000, "how long a request waits for its model to load before a retryable 503 (never past the caller's own wait: 60 s from the gateway)"),
  INFERENCE_PREDICT_TIMEOUT_MS: positiveMs(30_000, "a worker taking longer for one batch is replaced"),
  INFERENCE_REUSE_ENVS: z
    .enum(["true", "false"])
    .default("true")
    .transform((v) => v === "true")
    .describe(
      "serve a model from an existing environment (a job's) whose packages satisfy every requirement the model logged, instead of building its own: true or false (default true)",
    ),
  INFERENCE_WARM_ON_REGISTER: z
    .enum(["true", "false"])
    .default("true")
    .transform((v) => v === "true")
    .describe("load new versions and alias targets when the registry announces them: true or false (default true)"),
  INFERENCE_SANDBOX: z
    .enum(["bwrap", "process-group"])
    .default("bwrap")
    .describe("bwrap (each model worker in a sandbox without network, default) or process-group (no sandbox; development only, where bubblewrap cannot run)"),
  INFERENCE_SANDBOX_UID: z.coerce.number().int().min(1).default(DEFAULT_SANDBOX_ID).describe("uid model workers run as when the service runs as root (default 65534, nobody)"),
  INFERENCE_SANDBOX_GID: z.coerce.number().int().min(1).default(DEFAULT_SANDBOX_ID).describe("gid model workers run as when the service runs as root (default 65534, nogroup)"),
  INFERENCE_WORKER_MEMORY_BYTES: positiveInt(4 * 1024 ** 3, "memory one model worker may use, its /tmp included, in bytes"),
  INFERENCE_COMPILE: z
    .enum(["off", "onnx"])
    .default("onnx")
    .describe(
      "onnx (after a model's first prediction, compile scikit-learn, LightGBM and XGBoost models to ONNX in the sandbox, check parity and serve them from ONNX Runtime; default) or off (Python only)",
    ),
  METRICS_PORT: port(0).describe("port of this service's /metrics endpoint; 0 = a free port (default 0)"),
  METRICS_HOST: metricsHost(),
  LOG_LEVEL: logLevel(),
}).refine(natsAuthComplete, NATS_AUTH_INCOMPLETE);
export type InferenceEnv = z.infer<typeof InferenceEnv>;
