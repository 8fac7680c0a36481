import type { ErrorCode, FieldIssue } from "@asgard/contracts";
import type { z } from "zod";

/** What a BusError may carry besides its code and message. */
export interface BusErrorOptions {
  issues?: FieldIssue[];
  /** Seconds after which the same request may succeed (a limit that frees up); the caller's Retry-After. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

/**
 * The one error class the bus throws. `code` is stable and is what callers branch on;
 * `issues` name the offending fields of a payload or request; `retryAfterSeconds` says when
 * to try again, and travels with an error reply like the rest.
 */
export class BusError extends Error {
  readonly code: ErrorCode;
  readonly issues?: FieldIssue[];
  readonly retryAfterSeconds?: number;

  constructor(code: ErrorCode, message: string, opts?: BusErrorOptions) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "BusError";
    this.code = code;
    if (opts?.issues !== undefined) this.issues = opts.issues;
    if (opts?.retryAfterSeconds !== undefined) this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

/** An error reply from the remote handler of a request; carries the remote code, message, issues and retry-after. */
export class RemoteError extends BusError {
  constructor(code: ErrorCode, message: string, opts?: BusErrorOptions) {
    super(code, message, opts);
    this.name = "RemoteError";
  }
}

/** Turns zod issues into the wire's field issues (dotted paths, `(root)` for the value itself). */
export function toFieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.map(String).join(".") : "(root)",
    message: issue.message,
  }));
}

/** A VALIDATION_FAILED error whose message names the fields, so a log line alone says what was wrong. */
export function validationError(what: string, error: z.ZodError): BusError {
  const issues = toFieldIssues(error);
  const fields = [...new Set(issues.map((i) => i.field))].join(", ");
  return new BusError("VALIDATION_FAILED", `${what} is invalid (${fields})`, { issues, cause: error });
}

/**
 * nats.js error names that mean "the server or the connection is not there right now".
 * Matched by name rather than `instanceof` so a second copy of nats-core cannot break it.
 */
const UNAVAILABLE_NAMES = new Set([
  "ClosedConnectionError",
  "DrainingConnectionError",
  "ConnectionError",
  "TimeoutError",
  "NoRespondersError",
  "RequestError",
  "JetStreamNotEnabled",
]);

/** Walks an error and its causes for a nats.js error name. */
export function errorChainHas(err: unknown, names: ReadonlySet<string>): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    // Class name and `name` differ for some (NoRespondersError is named "NoResponders").
    if (names.has(current.name) || names.has(current.constructor.name)) return true;
    current = current.cause;
  }
  return false;
}

/** A short text of an unknown thrown value for messages. */
export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Wraps a failure of a nats.js call in a BusError: connection trouble and timeouts become
 * UNAVAILABLE, anything else INTERNAL. A BusError passes through unchanged.
 */
export function asBusError(err: unknown, what: string): BusError {
  if (err instanceof BusError) return err;
  const code: ErrorCode = errorChainHas(err, UNAVAILABLE_NAMES) ? "UNAVAILABLE" : "INTERNAL";
  return new BusError(code, `${what}: ${describeError(err)}`, { cause: err });
}
