import type { ErrorBody, ErrorCode, FieldIssue } from "@asgard/contracts";

/** The one place where an error code becomes an HTTP status. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 422,
  NOT_FOUND: 404,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNPROCESSABLE: 422,
  LIMIT_EXCEEDED: 429,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
  INTERNAL: 500,
};

/** An error a route raises on purpose; the error handler renders it as JSON. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: { issues?: FieldIssue[]; retryAfterSeconds?: number; status?: number; headers?: Record<string, string> } = {},
  ) {
    super(message);
  }

  get status(): number {
    return this.extra.status ?? HTTP_STATUS[this.code];
  }

  body(): ErrorBody {
    return {
      error: this.code,
      message: this.message,
      ...(this.extra.issues ? { issues: this.extra.issues } : {}),
      ...(this.extra.retryAfterSeconds !== undefined ? { retry_after_seconds: this.extra.retryAfterSeconds } : {}),
    };
  }
}
