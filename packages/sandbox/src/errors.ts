/** Stable codes of {@link SandboxError}; callers branch on these, never on messages. */
export type SandboxErrorCode =
  /** No working sandbox on this machine (bubblewrap or setpriv missing, namespaces refused). */
  | "UNAVAILABLE"
  /** The sandbox (or, in process-group mode, the script itself) could not be started. */
  | "SPAWN_FAILED";

/** Every failure this package raises, other than invalid options (those are TypeErrors). */
export class SandboxError extends Error {
  override readonly name = "SandboxError";
  readonly code: SandboxErrorCode;

  constructor(code: SandboxErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
