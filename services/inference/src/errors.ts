import { BusError } from "@asgard/bus";
import type { FieldIssue } from "@asgard/contracts";
import { MlflowError } from "@asgard/mlflow";

/**
 * The worker process of a model ended (crashed, was killed, or stopped answering) while a
 * call was in flight. Retryable: the model is loaded again in a new worker.
 */
export class WorkerExitedError extends Error {
  readonly code = "WORKER_EXITED";
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = "WorkerExitedError";
  }
}

/**
 * What the worker said went wrong: `input` (could not build the frame), `model` (predict
 * raised), `load`, or `compile` (the model cannot be served by ONNX Runtime; the message says why).
 */
export type WorkerFailureKind = "load" | "input" | "model" | "compile";

/** The worker answered a call with an error (the process itself is fine). */
export class WorkerReplyError extends Error {
  readonly code = "WORKER_REPLY";
  constructor(
    readonly kind: WorkerFailureKind,
    message: string,
  ) {
    super(message);
    this.name = "WorkerReplyError";
  }
}

/** A request's inputs do not fit the model (422 listing every problem). */
export function inputsRejected(issues: FieldIssue[], subject: string): BusError {
  const shown = issues.slice(0, 5).map((i) => `${i.field}: ${i.message}`).join("; ");
  const more = issues.length > 5 ? `; and ${issues.length - 5} more (see issues)` : "";
  return new BusError("VALIDATION_FAILED", `The inputs do not fit ${subject}: ${shown}${more}`, { issues: issues.slice(0, 100) });
}

/** The text of an unknown thrown value. */
export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * An MLflow failure as a request/reply error: MLflow's code kept (NOT_FOUND stays 404), an
 * unreachable MLflow worded as such, a name MLflow refuses treated as naming nothing.
 */
export function fromMlflow(err: unknown, what: string): unknown {
  if (err instanceof BusError || !(err instanceof MlflowError)) return err;
  if (err.code === "UNAVAILABLE") {
    return new BusError("UNAVAILABLE", `MLflow is unreachable, so ${what} cannot be resolved right now; retry shortly (${err.message})`, { cause: err });
  }
  if (err.code === "NOT_FOUND" || err.code === "VALIDATION_FAILED") return new BusError("NOT_FOUND", `${what} does not exist`, { cause: err });
  return new BusError(err.code, err.message, { cause: err });
}
