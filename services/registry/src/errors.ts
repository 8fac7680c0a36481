import { BusError } from "@asgard/bus";
import { MlflowError } from "@asgard/mlflow";

/**
 * The error a request/reply answer carries for a failed MLflow call: MLflow's code kept (so
 * the gateway maps it to one HTTP status), MLflow being unreachable worded as such.
 */
export function fromMlflowError(err: unknown, what: string): unknown {
  if (err instanceof BusError || !(err instanceof MlflowError)) return err;
  if (err.code === "UNAVAILABLE") {
    return new BusError("UNAVAILABLE", `MLflow is unreachable, so the registry cannot ${what} right now; retry shortly (${err.message})`, {
      cause: err,
    });
  }
  return new BusError(err.code, err.message, { cause: err });
}

/** True for failures that may pass on a later try (MLflow or NATS unreachable, a timeout). */
export function isTransient(err: unknown): boolean {
  const code = err instanceof MlflowError || err instanceof BusError ? err.code : null;
  return code === "UNAVAILABLE" || code === "TIMEOUT";
}

/** A short text of an unknown thrown value. */
export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
