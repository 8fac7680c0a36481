import { z } from "zod";

/** Reusable environment fields; each description is the expected form shown on error. */

export const natsUrl = () =>
  z
    .string()
    .regex(/^(nats|tls|ws|wss):\/\/[^\s]+$/, "a NATS URL")
    .describe("NATS server URL(s), e.g. nats://127.0.0.1:4222 (comma-separated for a cluster)");

/**
 * The service's NATS user and password. Both unset: an anonymous connection (a server without
 * users). The password is never shown back, not even on a config error.
 */
export const natsAuthFields = () => ({
  NATS_USER: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, "a NATS user name")
    .optional()
    .describe("the NATS user this service connects as (letters, digits, '-' or '_'; the platform's configs use the service's name), set together with NATS_PASSWORD; both unset = connect without credentials"),
  NATS_PASSWORD: z.string().optional().describe("the NATS user's password (required with NATS_USER)"),
});

/** Refinement for an env holding `natsAuthFields()`: a user needs its password. */
export const natsAuthComplete = (e: { NATS_USER?: string; NATS_PASSWORD?: string }) => (e.NATS_USER === undefined) === (e.NATS_PASSWORD === undefined);
/** Reported on NATS_USER, never on the password, whose value the error would show. */
export const NATS_AUTH_INCOMPLETE = { path: ["NATS_USER"], message: "set NATS_USER and NATS_PASSWORD together" };

export const httpUrl = (what: string) =>
  z
    .string()
    .refine((v) => {
      try {
        const u = new URL(v);
        return u.protocol === "http:" || u.protocol === "https:";
      } catch {
        return false;
      }
    }, "an http(s) URL")
    .transform((v) => v.replace(/\/+$/, ""))
    .describe(`${what}: an http(s) URL, e.g. http://127.0.0.1:5000`);

export const port = (fallback: number) =>
  z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(fallback)
    .describe(`a TCP port number 0-65535 (default ${fallback})`);

export const positiveMs = (fallback: number, what: string) =>
  z.coerce
    .number()
    .int()
    .positive()
    .default(fallback)
    .describe(`${what}, in milliseconds: a positive integer (default ${fallback})`);

/** A count or rate setting: a whole number from 1 to `max`. */
export const positiveInt = (fallback: number, what: string, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(max)
    .default(fallback)
    .describe(`${what}: a whole number from 1 to ${max.toLocaleString("en-US")} (default ${fallback.toLocaleString("en-US")})`);

export const logLevel = () =>
  z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
    .default("info")
    .describe("one of fatal, error, warn, info, debug, trace, silent (default info)");

export const optionalString = (what: string) =>
  z
    .string()
    .optional()
    .transform((v) => (v === "" ? undefined : v))
    .describe(what);

/** Which versions of the platform's own Python packages job and model environments get. */
export const envConstraints = () =>
  z
    .string()
    .min(1)
    .default("platform")
    .describe(
      "versions of the platform's Python packages (MLflow and what it pulls in) in job and model environments: platform (the set committed in packages/pyenv/src/platform-constraints.ts, default), none (newest versions), or the absolute path of a constraints file in that format",
    );

/** Packages no environment gets unless its requirements name them. */
export const envExcludePackages = () =>
  z
    .string()
    .default("nvidia-nccl-cu12")
    .describe(
      "comma-separated packages left out of every environment unless its requirements name them; empty = none (default nvidia-nccl-cu12: XGBoost's GPU-only NCCL, about 470 MB per environment, unused on CPU)",
    );

/**
 * Whether job and model environments may build source distributions. A build backend is
 * arbitrary code: off, only binary wheels are installed; `sandbox` runs resolving and
 * installing in the job sandbox (with internet), never on the host.
 */
export const envSourceBuilds = () =>
  z
    .enum(["off", "sandbox"])
    .default("off")
    .describe(
      "off (default): environments install binary wheels only, and a requirement without a wheel fails naming the package; sandbox: such packages are built, in the job sandbox with internet (bubblewrap, as the sandbox user), never on the host",
    );

/**
 * The admin credentials with which platform services call an MLflow server running its
 * basic-auth app (keyed mode). MLflow's own client reads the same names. Both unset: the
 * server has no auth (local mode).
 */
export const mlflowAdminFields = () => ({
  MLFLOW_TRACKING_USERNAME: optionalString("MLflow admin username, for a server with basic auth (unset: no auth)"),
  MLFLOW_TRACKING_PASSWORD: optionalString("MLflow admin password, set together with MLFLOW_TRACKING_USERNAME"),
});
