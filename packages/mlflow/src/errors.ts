import type { ErrorCode } from "@asgard/contracts";

/** Where an MLflow call failed: the HTTP method and the path (with query), never headers. */
export interface MlflowOperation {
  method: string;
  path: string;
}

interface MlflowErrorOptions {
  /** MLflow's own `error_code` from the JSON body, e.g. `RESOURCE_DOES_NOT_EXIST`. */
  errorCode?: string | null;
  httpStatus?: number | null;
  operation?: MlflowOperation | null;
  cause?: unknown;
}

/**
 * Base of every error this client throws. Branch on `code` (the platform's stable code);
 * `errorCode` and `httpStatus` say what MLflow itself answered, when it answered.
 */
export class MlflowError extends Error {
  readonly code: ErrorCode;
  readonly errorCode: string | null;
  readonly httpStatus: number | null;
  readonly operation: MlflowOperation | null;

  constructor(code: ErrorCode, message: string, opts: MlflowErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "MlflowError";
    this.code = code;
    this.errorCode = opts.errorCode ?? null;
    this.httpStatus = opts.httpStatus ?? null;
    this.operation = opts.operation ?? null;
  }
}

/** The experiment, run, model, version or alias does not exist (`RESOURCE_DOES_NOT_EXIST`, 404). */
export class MlflowNotFoundError extends MlflowError {
  constructor(message: string, opts: MlflowErrorOptions = {}) {
    super("NOT_FOUND", message, opts);
    this.name = "MlflowNotFoundError";
  }
}

/** The resource already exists (`RESOURCE_ALREADY_EXISTS`) or is in a state that forbids the call. */
export class MlflowConflictError extends MlflowError {
  constructor(message: string, opts: MlflowErrorOptions = {}) {
    super("CONFLICT", message, opts);
    this.name = "MlflowConflictError";
  }
}

/** MLflow rejected a parameter (`INVALID_PARAMETER_VALUE`, 400); the message is MLflow's own. */
export class MlflowValidationError extends MlflowError {
  constructor(message: string, opts: MlflowErrorOptions = {}) {
    super("VALIDATION_FAILED", message, opts);
    this.name = "MlflowValidationError";
  }
}

/**
 * Why MLflow could not be used: no connection (`refused`, `dns`, `reset`), no answer in time
 * (`timeout`), or the server answered with a 5xx/429 (`server_error`).
 */
export type UnavailableReason = "refused" | "dns" | "reset" | "timeout" | "server_error" | "network";

/** MLflow is not reachable or not healthy right now; retrying later may succeed. */
export class MlflowUnavailableError extends MlflowError {
  readonly reason: UnavailableReason;
  /** How long the call ran before it failed, ms. */
  readonly elapsedMs: number;

  constructor(reason: UnavailableReason, message: string, elapsedMs: number, opts: MlflowErrorOptions = {}) {
    super("UNAVAILABLE", message, opts);
    this.name = "MlflowUnavailableError";
    this.reason = reason;
    this.elapsedMs = elapsedMs;
  }
}

/** MLflow answered something this client cannot read (not JSON, or not the documented shape). */
export class MlflowResponseError extends MlflowError {
  constructor(message: string, opts: MlflowErrorOptions = {}) {
    super("INTERNAL", message, opts);
    this.name = "MlflowResponseError";
  }
}

/** A model version ended in `FAILED_REGISTRATION`; the message carries MLflow's `status_message`. */
export class MlflowRegistrationFailedError extends MlflowError {
  readonly modelName: string;
  readonly version: string;
  readonly statusMessage: string;

  constructor(modelName: string, version: string, statusMessage: string) {
    super(
      "UNPROCESSABLE",
      `model version ${modelName}/${version} failed registration: ${statusMessage || "(no status message)"}`,
    );
    this.name = "MlflowRegistrationFailedError";
    this.modelName = modelName;
    this.version = version;
    this.statusMessage = statusMessage;
  }
}

/** A model version was still not `READY` when the wait ran out. */
export class MlflowRegistrationTimeoutError extends MlflowError {
  readonly lastStatus: string | null;

  constructor(modelName: string, version: string, timeoutMs: number, lastStatus: string | null, cause?: unknown) {
    super(
      "TIMEOUT",
      `model version ${modelName}/${version} was not READY after ${timeoutMs} ms (last status: ${lastStatus ?? "unknown"})`,
      { cause },
    );
    this.name = "MlflowRegistrationTimeoutError";
    this.lastStatus = lastStatus;
  }
}

/** MLflow error messages can embed whole SQL statements; keep logs readable. */
const MAX_MESSAGE_CHARS = 600;

function clip(text: string): string {
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
}

/** What an MLflow error answer said, as far as it could be read. */
export interface MlflowErrorBody {
  errorCode: string | null;
  message: string | null;
}

/**
 * Reads MLflow's `{"error_code": …, "message": …}` body. Anything else (Flask's HTML 404/405
 * pages, a proxy's text) yields nulls and the status alone decides.
 */
export function parseErrorBody(text: string): MlflowErrorBody {
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === "object") {
      const obj = value as Record<string, unknown>;
      return {
        errorCode: typeof obj.error_code === "string" ? obj.error_code : null,
        message: typeof obj.message === "string" ? obj.message : null,
      };
    }
  } catch {
    // Not JSON: fall through.
  }
  return { errorCode: null, message: null };
}

/**
 * The platform code for an MLflow error answer. MLflow's own `error_code` wins over the
 * status because MLflow answers RESOURCE_ALREADY_EXISTS with 400, not 409.
 */
export function errorCodeFor(httpStatus: number, errorCode: string | null): ErrorCode {
  switch (errorCode) {
    case "RESOURCE_DOES_NOT_EXIST":
    case "NOT_FOUND":
      return "NOT_FOUND";
    case "RESOURCE_ALREADY_EXISTS":
    case "INVALID_STATE":
    case "RESOURCE_CONFLICT":
      return "CONFLICT";
    case "INVALID_PARAMETER_VALUE":
    case "MALFORMED_REQUEST":
    case "BAD_REQUEST":
      return "VALIDATION_FAILED";
    case "REQUEST_LIMIT_EXCEEDED":
    case "TEMPORARILY_UNAVAILABLE":
      return "UNAVAILABLE";
    default:
      break;
  }
  if (httpStatus === 404) return "NOT_FOUND";
  if (httpStatus === 409) return "CONFLICT";
  if (httpStatus === 400) return "VALIDATION_FAILED";
  if (httpStatus === 413) return "PAYLOAD_TOO_LARGE";
  if (httpStatus === 429 || httpStatus >= 500) return "UNAVAILABLE";
  // 401/403/405 and the rest: the platform's credentials or this client are wrong, not the caller's input.
  return "INTERNAL";
}

/** Builds the error for a non-2xx answer: the right subclass, MLflow's message kept. */
export function errorFromResponse(
  operation: MlflowOperation,
  httpStatus: number,
  bodyText: string,
  elapsedMs: number,
): MlflowError {
  const body = parseErrorBody(bodyText);
  const code = errorCodeFor(httpStatus, body.errorCode);
  const detail = clip(body.message ?? `HTTP ${httpStatus}`);
  const where = `${operation.method} ${operation.path}`;
  const opts: MlflowErrorOptions = { errorCode: body.errorCode, httpStatus, operation };
  switch (code) {
    case "NOT_FOUND":
      return new MlflowNotFoundError(`${detail} (${where})`, opts);
    case "CONFLICT":
      return new MlflowConflictError(`${detail} (${where})`, opts);
    case "VALIDATION_FAILED":
      return new MlflowValidationError(`${detail} (${where})`, opts);
    case "UNAVAILABLE":
      return new MlflowUnavailableError(
        "server_error",
        `MLflow answered ${httpStatus} to ${where} after ${Math.round(elapsedMs)} ms: ${detail}`,
        elapsedMs,
        opts,
      );
    default:
      return new MlflowError(code, `MLflow answered ${httpStatus} to ${where}: ${detail}`, opts);
  }
}

/** Classifies a transport failure (no HTTP answer) by the Node/undici error code in its cause chain. */
export function unavailableReasonOf(err: unknown): UnavailableReason {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    switch (code) {
      case "ECONNREFUSED":
        return "refused";
      case "ENOTFOUND":
      case "EAI_AGAIN":
        return "dns";
      case "ECONNRESET":
      case "EPIPE":
      case "UND_ERR_SOCKET":
      case "UND_ERR_CLOSED":
        return "reset";
      case "UND_ERR_CONNECT_TIMEOUT":
      case "UND_ERR_HEADERS_TIMEOUT":
      case "UND_ERR_BODY_TIMEOUT":
      case "ETIMEDOUT":
        return "timeout";
      default:
        break;
    }
    if (current.name === "TimeoutError") return "timeout";
    current = current.cause;
  }
  return "network";
}

const REASON_TEXT: Record<UnavailableReason, string> = {
  refused: "connection refused",
  dns: "host name did not resolve",
  reset: "connection reset",
  timeout: "no answer in time",
  server_error: "server error",
  network: "network error",
};

/** A transport failure as an MlflowUnavailableError naming the reason and how long the call ran. */
export function unavailableError(
  origin: string,
  operation: MlflowOperation,
  reason: UnavailableReason,
  elapsedMs: number,
  timeoutMs: number,
  cause: unknown,
): MlflowUnavailableError {
  const ms = Math.round(elapsedMs);
  const where = `${operation.method} ${operation.path}`;
  const text =
    reason === "timeout"
      ? `MLflow at ${origin} did not answer ${where} within ${timeoutMs} ms (timed out after ${ms} ms)`
      : `MLflow at ${origin} is unavailable: ${REASON_TEXT[reason]} (${where}, after ${ms} ms)`;
  return new MlflowUnavailableError(reason, text, elapsedMs, { operation, cause });
}
