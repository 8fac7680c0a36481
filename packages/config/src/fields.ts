import { z } from "zod";

/** Reusable environment fields; each description is the expected form shown on error. */

export const natsUrl = () =>
  z
    .string()
    .regex(/^(nats|tls|ws|wss):\/\/[^\s]+$/, "a NATS URL")
    .describe("NATS server URL(s), e.g. nats://127.0.0.1:4222 (comma-separated for a cluster)");

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
