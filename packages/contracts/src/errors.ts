import { z } from "zod";

/**
 * Stable error codes shared by every service. Request/reply failures carry one of these;
 * the gateway maps each to exactly one HTTP status, in one place.
 */
export const ERROR_CODES = [
  "BAD_REQUEST",
  "VALIDATION_FAILED",
  "NOT_FOUND",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "CONFLICT",
  "PAYLOAD_TOO_LARGE",
  "UNPROCESSABLE",
  "LIMIT_EXCEEDED",
  "UNAVAILABLE",
  "TIMEOUT",
  "INTERNAL",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const ErrorCodeSchema = z.enum(ERROR_CODES);

/**
 * The codes of failures that may pass on a later try: a server or dependency not there right
 * now (UNAVAILABLE) or not answering in time (TIMEOUT). Every other code is final — the same
 * call fails the same way — so a retry or a redelivery of it is wasted.
 */
export const RETRYABLE_CODES: readonly ErrorCode[] = ["UNAVAILABLE", "TIMEOUT"];

/** True when a failure with this code may pass on a later try (see RETRYABLE_CODES). */
export function isRetryableCode(code: ErrorCode): boolean {
  return RETRYABLE_CODES.includes(code);
}

/** One problem with one field of a request. */
export const FieldIssueSchema = z.object({
  field: z.string().describe("Dotted path of the offending field, e.g. `environment_vars.PATH`."),
  message: z.string().describe("What is wrong and what to send instead."),
});
export type FieldIssue = z.infer<typeof FieldIssueSchema>;

/** The body of every 4xx/5xx answer of the HTTP API. */
export const ErrorBodySchema = z.object({
  error: ErrorCodeSchema,
  message: z.string(),
  issues: z.array(FieldIssueSchema).optional(),
  retry_after_seconds: z.number().int().optional(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** How a request/reply endpoint answers: a result, or a coded error. */
export const rpcReply = <T extends z.ZodType>(result: T) =>
  z.discriminatedUnion("ok", [
    z.object({ ok: z.literal(true), result }),
    z.object({
      ok: z.literal(false),
      error: z.object({
        code: ErrorCodeSchema,
        message: z.string(),
        issues: z.array(FieldIssueSchema).optional(),
        /** Added later: when the caller may try again (a limit), the HTTP answer's Retry-After. */
        retry_after_seconds: z.number().int().positive().optional(),
      }),
    }),
  ]);
