import { StorageError, type StorageErrorCode } from "./errors.js";

const ACCESS_DENIED_NAMES = new Set([
  "AccessDenied",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "CredentialsProviderError",
]);
const UNAVAILABLE_ERRNOS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EPIPE",
]);

interface SdkErrorShape {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The HTTP status the service answered with, when it answered. */
export function httpStatusOf(err: unknown): number | undefined {
  return (err as SdkErrorShape | null)?.$metadata?.httpStatusCode;
}

/** Sorts an SDK or network failure into a {@link StorageErrorCode}. */
export function classifyS3Error(err: unknown): StorageErrorCode {
  const e = (err ?? {}) as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  if (e.name === "NoSuchBucket") return "BUCKET_NOT_FOUND";
  if ((e.name && ACCESS_DENIED_NAMES.has(e.name)) || status === 401 || status === 403) return "ACCESS_DENIED";
  if (e.name === "TimeoutError" || e.name === "AbortError" || (e.code && UNAVAILABLE_ERRNOS.has(e.code))) {
    return "UNAVAILABLE";
  }
  if (status !== undefined && (status >= 500 || status === 429)) return "UNAVAILABLE";
  if (status === undefined && e.name === "Error") return "UNAVAILABLE";
  return "IO_ERROR";
}

/**
 * Wraps a failure of `op` in a {@link StorageError}. The message names the operation,
 * key and bucket and the service's error; `secrets` are masked wherever they appear, and
 * the cause is a plain copy of the SDK error's name and message, not the error object
 * (which carries the signed request).
 */
export function toStorageError(
  err: unknown,
  context: { op: string; bucket: string; key?: string; secrets: string[] },
): StorageError {
  if (err instanceof StorageError) return err;
  const e = (err ?? {}) as SdkErrorShape;
  const code = classifyS3Error(err);
  const status = e.$metadata?.httpStatusCode;
  const what = context.key === undefined ? "" : ` of "${context.key}"`;
  const detail = [e.name, e.code, status === undefined ? undefined : `HTTP ${status}`, e.message]
    .filter((part) => part !== undefined && part !== "")
    .join(", ");
  const message = redact(`S3 ${context.op}${what} in bucket "${context.bucket}" failed (${code}): ${detail}`, context.secrets);
  const cause = new Error(redact(`${e.name ?? "Error"}: ${e.message ?? String(err)}`, context.secrets));
  return new StorageError(code, message, { cause });
}

function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret) out = out.split(secret).join("***");
  }
  return out;
}
