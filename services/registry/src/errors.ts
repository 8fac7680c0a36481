import { BusError } from "@asgard/bus";
import { isRetryableCode } from "@asgard/contracts";
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

/** True for an MLflow or bus failure that may pass on a later try (MLflow or NATS unreachable, a timeout). */
export function isRetryable(err: unknown): boolean {
  return (err instanceof MlflowError || err instanceof BusError) && isRetryableCode(err.code);
}

/** A short text of an unknown thrown value. */
export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
