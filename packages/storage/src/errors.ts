/**
 * Stable codes of {@link StorageError}:
 * - `INVALID_KEY`: the key or prefix breaks the key rules (see `validateKey`).
 * - `INVALID_CONFIG`: a store URL or option that cannot select a store.
 * - `KEY_CONFLICT`: the file store cannot hold both `a` and `a/b` (a file is not a directory).
 * - `ACCESS_DENIED`: the store refused the credentials or the operation.
 * - `BUCKET_NOT_FOUND`: the S3 bucket does not exist.
 * - `UNAVAILABLE`: the store could not be reached or answered with a server error; may pass.
 * - `IO_ERROR`: any other failure of the backend.
 */
export type StorageErrorCode =
  | "INVALID_KEY"
  | "INVALID_CONFIG"
  | "KEY_CONFLICT"
  | "ACCESS_DENIED"
  | "BUCKET_NOT_FOUND"
  | "UNAVAILABLE"
  | "IO_ERROR";

/** A storage failure with a stable code. Messages never carry credentials. */
export class StorageError extends Error {
  override readonly name = "StorageError";
  readonly code: StorageErrorCode;

  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** True for failures worth retrying later (the store may come back). */
  get retryable(): boolean {
    return this.code === "UNAVAILABLE";
  }
}
