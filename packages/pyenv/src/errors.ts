/** Stable codes of {@link PyEnvError}; callers branch on these, never on messages. */
export type PyEnvErrorCode = "INVALID_REQUIREMENT" | "LOCK_FAILED" | "BUILD_FAILED" | "CANCELLED";

/**
 * The one error class of this package.
 *
 * - `INVALID_REQUIREMENT`: a requirement (or an operator pin) failed the strict PEP 508 check;
 *   uv never ran. Permanent for that request.
 * - `LOCK_FAILED`: `uv pip compile` failed (unknown package, conflicting versions, index down).
 * - `BUILD_FAILED`: creating the venv or installing the lock failed, or the interpreter is unusable.
 * - `CANCELLED`: the caller's AbortSignal fired; the uv child was killed and its scratch removed.
 */
export class PyEnvError extends Error {
  readonly code: PyEnvErrorCode;
  /** The tail of uv's stderr (or the reasons for INVALID_REQUIREMENT), for the job log. */
  readonly output: string;

  constructor(code: PyEnvErrorCode, message: string, opts?: { output?: string; cause?: unknown }) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "PyEnvError";
    this.code = code;
    this.output = opts?.output ?? "";
  }
}

export function cancelled(what: string): PyEnvError {
  return new PyEnvError("CANCELLED", `${what} was cancelled`);
}

/** Throws CANCELLED when `signal` has fired; called between steps so no step starts after an abort. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw cancelled(what);
}
