import { z } from "zod";
import type { ErrorBody, ErrorCode, FieldIssue } from "../errors.js";

/** HTTP statuses a request parser answers with when a request is refused. */
export type ParseFailureStatus = 400 | 413 | 422;

/**
 * What every request parser returns: the normalized request and the warnings to put in
 * the response, or the status and JSON body of the refusal.
 */
export type ParseResult<T> =
  | { ok: true; value: T; warnings: string[] }
  | { ok: false; status: ParseFailureStatus; body: ErrorBody };

/** A refusal as returned by the parsers. */
export type ParseFailure = Extract<ParseResult<unknown>, { ok: false }>;

const CODE_OF_STATUS: Record<ParseFailureStatus, ErrorCode> = {
  400: "BAD_REQUEST",
  413: "PAYLOAD_TOO_LARGE",
  422: "VALIDATION_FAILED",
};

/** Issues listed in one error body; the rest are counted in its message. */
export const MAX_ISSUES_LISTED = 100;

/** Builds an error body; `issues` is left out when there are none. */
export function errorBody(code: ErrorCode, message: string, issues?: readonly FieldIssue[]): ErrorBody {
  return issues && issues.length > 0 ? { error: code, message, issues: [...issues] } : { error: code, message };
}

/**
 * A refusal that lists field issues. The top-level message repeats them (up to a few) so a
 * client that prints only `message` still learns which field to fix.
 */
export function issuesFailure(issues: readonly FieldIssue[], status: ParseFailureStatus = 422, subject = "request body"): ParseFailure {
  const listed = issues.slice(0, MAX_ISSUES_LISTED);
  const shown = issues.slice(0, 5).map((i) => `${i.field}: ${i.message}`).join("; ");
  const more = issues.length > 5 ? `; and ${issues.length - 5} more (see issues)` : "";
  const noun = issues.length === 1 ? "problem" : "problems";
  const message = `The ${subject} has ${issues.length} ${noun}: ${shown}${more}`;
  return { ok: false, status, body: errorBody(CODE_OF_STATUS[status], message, listed) };
}

/** A refusal without field issues (e.g. a body that is not a JSON object). */
export function plainFailure(status: ParseFailureStatus, message: string): ParseFailure {
  return { ok: false, status, body: errorBody(CODE_OF_STATUS[status], message) };
}

/** A JSON object (not an array, not null), as `JSON.parse` makes them. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** How a JSON value is named in messages: "a string", "null", "an array", … */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return "a string";
    case "number":
      return Number.isInteger(value) ? "an integer" : "a number";
    case "boolean":
      return "a boolean";
    case "object":
      return "an object";
    default:
      return typeof value;
  }
}

/** Quotes user text for a message, cut short so an error body never echoes a megabyte back. */
export function quote(text: string, max = 60): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(cut);
}

/** `environment_vars.PATH`, `requirements.2`, or `(body)` for the body itself. */
export function fieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(body)";
  return path.map((p) => (typeof p === "symbol" ? p.description ?? "?" : String(p))).join(".");
}

/**
 * Reports one problem from inside a zod check. `status: 413` marks the issue as a size
 * limit, which turns the whole refusal into a 413.
 */
export function report(ctx: z.RefinementCtx, message: string, opts: { path?: PropertyKey[]; status?: 413 } = {}): void {
  ctx.addIssue({
    code: "custom",
    message,
    ...(opts.path ? { path: opts.path } : {}),
    ...(opts.status ? { params: { status: opts.status } } : {}),
  });
}

const ARTICLE_TYPES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  integer: "an integer",
  boolean: "a boolean",
  object: "an object",
  array: "an array",
  record: "an object",
  null: "null",
};

/**
 * Messages for the issues a schema did not word itself. Schemas of the HTTP contract word
 * their own messages where a hint helps; this covers the rest in the same voice.
 */
export const issueMessages: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case "invalid_type": {
      const expected = ARTICLE_TYPES[iss.expected] ?? iss.expected;
      if (iss.input === undefined) return `is required (${expected})`;
      return `must be ${expected}, not ${describeValue(iss.input)}`;
    }
    case "too_small": {
      const min = Number(iss.minimum);
      if (iss.origin === "string") return min <= 1 ? "must not be empty" : `must be at least ${min} characters long`;
      if (iss.origin === "array") return min <= 1 ? "must not be empty" : `must have at least ${min} entries`;
      return `must be at least ${min}`;
    }
    case "too_big": {
      const max = Number(iss.maximum);
      if (iss.origin === "string") return `must be at most ${max} characters long`;
      if (iss.origin === "array") return `must have at most ${max} entries`;
      return `must be at most ${max}`;
    }
    case "invalid_value":
      return `must be one of ${iss.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_format":
      return iss.format === "regex" ? `has the wrong form (expected ${String(iss.pattern)})` : `must be a valid ${iss.format}`;
    case "not_multiple_of":
      return `must be a multiple of ${String(iss.divisor)}`;
    case "unrecognized_keys":
      return `has unknown fields: ${iss.keys.join(", ")}`;
    case "invalid_union":
      return "matches none of the accepted forms";
    default:
      return undefined;
  }
};

function toFieldIssues(error: z.ZodError): { issues: FieldIssue[]; status: ParseFailureStatus } {
  let status: ParseFailureStatus = 422;
  const issues = error.issues.map((iss) => {
    const params = (iss as { params?: { status?: unknown } }).params;
    if (params?.status === 413) status = 413;
    return { field: fieldPath(iss.path), message: iss.message };
  });
  return { issues, status };
}

/** Options shared by the lenient and strict parsers. */
export interface ParseOptions {
  /** What the message calls the input: "request body" (default), "query string", "path". */
  subject?: string;
}

/** Splits a body into its known fields and the names of the others. */
function splitKnown(body: Record<string, unknown>, knownFields: readonly string[]): { known: Record<string, unknown>; unknown: string[] } {
  const allowed = new Set(knownFields);
  const known: [string, unknown][] = [];
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (allowed.has(key)) known.push([key, value]);
    else unknown.push(key);
  }
  // fromEntries defines own properties, so a key such as "__proto__" stays data.
  return { known: Object.fromEntries(known), unknown };
}

function notAnObject(body: unknown, subject: string): ParseFailure {
  return plainFailure(400, `The ${subject} must be a JSON object, not ${describeValue(body)}; send Content-Type: application/json with an object such as {"field": "value"}`);
}

function runSchema<S extends z.ZodType>(schema: S, input: Record<string, unknown>, extra: FieldIssue[], subject: string, warnings: string[]): ParseResult<z.output<S>> {
  const result = schema.safeParse(input, { error: issueMessages });
  if (result.success && extra.length === 0) return { ok: true, value: result.data, warnings };
  const fromSchema = result.success ? { issues: [], status: 422 as ParseFailureStatus } : toFieldIssues(result.error);
  return issuesFailure([...extra, ...fromSchema.issues], fromSchema.status, subject);
}

/**
 * Parser for compatible-surface bodies: fields not in `knownFields` are ignored (never
 * passed to the schema, so never stored) and each is named in `warnings`, as the original
 * API silently dropped them. A body that is not a JSON object is a 400; schema issues are
 * a 422, or a 413 when one of them is a size limit.
 */
export function parseLenient<S extends z.ZodType>(schema: S, body: unknown, knownFields: readonly string[], opts: ParseOptions = {}): ParseResult<z.output<S>> {
  const subject = opts.subject ?? "request body";
  if (!isPlainObject(body)) return notAnObject(body, subject);
  const { known, unknown } = splitKnown(body, knownFields);
  const warnings = unknown.map((k) => `unknown field \`${k.length > 100 ? `${k.slice(0, 100)}…` : k}\` was ignored`);
  return runSchema(schema, known, [], subject, warnings);
}

/**
 * Parser for extension routes: an unknown field is an error (422) naming it, reported
 * together with every other issue of the body.
 */
export function parseStrict<S extends z.ZodType>(schema: S, body: unknown, knownFields: readonly string[], opts: ParseOptions = {}): ParseResult<z.output<S>> {
  const subject = opts.subject ?? "request body";
  if (!isPlainObject(body)) return notAnObject(body, subject);
  const { known, unknown } = splitKnown(body, knownFields);
  const accepted = knownFields.length > 0 ? knownFields.join(", ") : "no fields";
  const extra = unknown.map((k) => ({
    field: k.length > 100 ? `${k.slice(0, 100)}…` : k,
    message: `is not a known field; this route accepts ${accepted}`,
  }));
  return runSchema(schema, known, extra, subject, []);
}

/** Number of bytes a string takes in UTF-8. */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/** C0 and C1 control characters and DEL: never meaningful in names. */
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Error option for a field's type check: "is required: send …" when it is missing,
 * "must be … (got …)" when it has the wrong type.
 */
export function expecting(what: string): (iss: { input?: unknown }) => string {
  return (iss) => (iss.input === undefined ? `is required: send ${what}` : `must be ${what} (got ${describeValue(iss.input)})`);
}

/**
 * A JSON object of any keys, checked by hand afterwards. Used instead of `z.record`, which
 * silently drops a `__proto__` key: every key a client sends is either accepted or refused.
 */
export function jsonObject(what: string) {
  return z.custom<Record<string, unknown>>(isPlainObject, { error: expecting(what) }).meta({ type: "object" });
}
