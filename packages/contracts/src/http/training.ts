import { z } from "zod";
import { CONTROL_CHARS, describeValue, expecting, jsonObject, parseLenient, quote, report, utf8Length, type ParseResult } from "./common.js";
import { STRICT_BASE64_PATTERN, base64DecodedLength, base64EncodedLength, base64Problem, decodeBase64 } from "./base64.js";
import { experimentNameField, modelNameField, tagsField } from "./fields.js";
import { JobSchema } from "./jobs.js";
import { checkRequirement, type Requirement } from "./pep508.js";
import { DEFAULT_RESOURCE_MAXIMA, resourcesField, type JobResources, type ResourceMaxima } from "./resources.js";

/** Limits of `POST /mlops/training/upload`; the defaults are the contract's. */
export interface UploadLimits {
  /** Shortest accepted `timeout`, in seconds (default 60). */
  minTimeoutSeconds: number;
  /** Longest accepted `timeout`, in seconds (default 3600). */
  maxTimeoutSeconds: number;
  /** Largest decoded script, in bytes (default 512 KiB: the base64 still fits a 1 MiB NATS message). */
  maxScriptBytes: number;
  /** Most a job may ask for in `resources` (default {@link DEFAULT_RESOURCE_MAXIMA}). */
  resourceMaxima: ResourceMaxima;
}

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  minTimeoutSeconds: 60,
  maxTimeoutSeconds: 3600,
  maxScriptBytes: 512 * 1024,
  resourceMaxima: DEFAULT_RESOURCE_MAXIMA,
};

/** `timeout` when the client sends none, as in the original API. */
export const DEFAULT_TIMEOUT_SECONDS = 300;
/** Most entries in `requirements`. */
export const MAX_REQUIREMENTS = 100;
/** Most entries in `environment_vars`. */
export const MAX_ENV_VARS = 100;
/** Largest value of one environment variable, in UTF-8 bytes. */
export const MAX_ENV_VALUE_BYTES = 32 * 1024;
/** Longest `script_name`, in UTF-8 bytes (a file name limit of common file systems). */
export const MAX_SCRIPT_NAME_BYTES = 255;

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * Environment variable names the platform sets for the script (tracking URI, run, the
 * tenant's MLflow workspace, the interpreter and its virtualenv, the loader, the job's trace)
 * and that a user value would silently break or hijack (MLFLOW_WORKSPACE would move a job
 * into another tenant's workspace). `EXPERIMENT_NAME`/`MODEL_NAME` are given to the script as the
 * original did; `TRACEPARENT`/`TRACESTATE` are OpenTelemetry's names for a parent trace.
 */
export const RESERVED_ENV_VARS = {
  exact: ["PATH", "HOME", "VIRTUAL_ENV", "EXPERIMENT_NAME", "MODEL_NAME", "TRACEPARENT", "TRACESTATE"],
  prefixes: ["MLFLOW_", "PYTHON", "LD_", "PIP_", "UV_"],
} as const;

/** Which reservation rule a name falls under, or null. */
export function reservedEnvVarRule(name: string): string | null {
  if ((RESERVED_ENV_VARS.exact as readonly string[]).includes(name)) return `${name} is set by the platform`;
  const prefix = RESERVED_ENV_VARS.prefixes.find((p) => name.startsWith(p));
  return prefix ? `names starting with ${prefix} are set by the platform` : null;
}

/** Why a script name is refused; empty when it is a bare file name. */
export function scriptNameProblems(name: string): string[] {
  if (name === "") return ['must not be empty: send the script\'s file name, e.g. "train.py"'];
  const problems: string[] = [];
  if (name.includes("/") || name.includes("\\")) problems.push(`must be a file name, not a path: send e.g. "train.py", not ${quote(name)}`);
  else if (name === ".") problems.push('must be a file name, not "."');
  else if (name.includes("..")) problems.push('must not contain ".."');
  if (CONTROL_CHARS.test(name)) problems.push("must not contain control characters (NUL, line breaks, tabs)");
  const bytes = utf8Length(name);
  if (bytes > MAX_SCRIPT_NAME_BYTES) problems.push(`must be at most ${MAX_SCRIPT_NAME_BYTES} bytes long; got ${bytes}`);
  return problems;
}

/**
 * A script name as services pass it to each other: the same rule again, because the runner
 * makes it a file name in the job's folder and an internal message is untrusted input too.
 */
export const ScriptNameSchema = z.string().superRefine(checkScriptName);

function checkScriptName(name: string, ctx: z.RefinementCtx): void {
  for (const p of scriptNameProblems(name)) report(ctx, p);
}

const scriptNameField = () =>
  z
    .string({ error: expecting('a string with the script\'s file name, e.g. "train.py"') })
    .superRefine(checkScriptName)
    .meta({
      description: 'File name of the script, not a path ("../x" is refused); ".py" is optional (the original client sends the stem).',
      examples: ["train_rf.py", "train"],
    });

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const scriptContentField = (maxBytes: number) =>
  z
    .string({ error: expecting("a string with the base64 of the script's UTF-8 source") })
    .meta({
      contentEncoding: "base64",
      contentMediaType: "text/x-python",
      pattern: STRICT_BASE64_PATTERN,
      maxLength: base64EncodedLength(maxBytes),
    })
    .transform((text, ctx) => {
      const limit = `${maxBytes} bytes (${Math.round(maxBytes / 1024)} KiB)`;
      const fix = "keep data out of the script and load it at run time";
      // Measured from the length first: a huge string is refused without scanning it.
      if (text.length > base64EncodedLength(maxBytes)) {
        report(ctx, `the script is larger than the limit of ${limit} decoded; ${fix}`, { status: 413 });
        return z.NEVER;
      }
      const problem = base64Problem(text);
      if (problem) {
        report(ctx, problem);
        return z.NEVER;
      }
      const size = base64DecodedLength(text);
      if (size > maxBytes) {
        report(ctx, `the script is ${size} bytes decoded, above the limit of ${limit}; ${fix}`, { status: 413 });
        return z.NEVER;
      }
      if (size === 0) {
        report(ctx, "the script is empty: send the base64 of the training script's source");
        return z.NEVER;
      }
      let script: string;
      try {
        script = utf8.decode(decodeBase64(text));
      } catch {
        report(ctx, "does not decode to UTF-8 text: save the script as UTF-8 before encoding it");
        return z.NEVER;
      }
      if (script.trim() === "") {
        report(ctx, "the script contains only whitespace: send the base64 of the training script's source");
        return z.NEVER;
      }
      return { script, script_bytes: size };
    })
    .meta({ description: `Base64 (standard alphabet, "=" padding, no line breaks) of the script's UTF-8 source; at most ${maxBytes} bytes decoded (413 above).` });

const requirementsField = () =>
  z
    .array(z.unknown(), { error: expecting('a list of strings, e.g. ["scikit-learn", "pandas>=2"]') })
    .superRefine((list, ctx) => {
      if (list.length > MAX_REQUIREMENTS) report(ctx, `must have at most ${MAX_REQUIREMENTS} entries; got ${list.length}`);
      const seen = new Map<string, { index: number; requirement: Requirement }>();
      list.forEach((item, index) => {
        if (typeof item !== "string") {
          report(ctx, `must be a string such as "pandas>=2" (got ${describeValue(item)})`, { path: [index] });
          return;
        }
        const checked = checkRequirement(item);
        if (!checked.ok) {
          for (const p of checked.problems) report(ctx, `${quote(item, 40)} ${p}`, { path: [index] });
          return;
        }
        const req = checked.requirement;
        const first = seen.get(req.normalizedName);
        // Two entries of one package conflict unless markers select between them.
        if (first && !(first.requirement.hasMarker && req.hasMarker)) {
          report(ctx, `names ${req.name} again (first at requirements.${first.index}): combine them into one entry, e.g. "${req.name}>=2,<3"`, { path: [index] });
        } else if (!first) seen.set(req.normalizedName, { index, requirement: req });
      });
    })
    .transform((list) => (list as string[]).map((s) => s.trim()))
    .meta({
      items: { type: "string", maxLength: 200 },
      maxItems: MAX_REQUIREMENTS,
    });

const environmentVarsField = () =>
  jsonObject('an object of NAME → string value, e.g. {"DATA_PATH": "/data"}')
    .superRefine((vars, ctx) => {
      const entries = Object.entries(vars);
      if (entries.length > MAX_ENV_VARS) report(ctx, `must have at most ${MAX_ENV_VARS} variables; got ${entries.length}`);
      for (const [name, value] of entries) {
        const path = [name];
        if (!ENV_NAME.test(name)) report(ctx, `${quote(name, 40)} is not an accepted name: use capital letters, digits and "_", not starting with a digit (e.g. DATA_PATH)`, { path });
        else {
          const rule = reservedEnvVarRule(name);
          if (rule) report(ctx, `is reserved (${rule}); choose another name`, { path });
        }
        if (typeof value !== "string") report(ctx, `must be a string (got ${describeValue(value)}); quote numbers, e.g. "1"`, { path });
        else {
          if (value.includes("\u0000")) report(ctx, "must not contain NUL characters", { path });
          const bytes = utf8Length(value);
          if (bytes > MAX_ENV_VALUE_BYTES) report(ctx, `must be at most ${MAX_ENV_VALUE_BYTES} bytes (32 KiB); got ${bytes}`, { path });
        }
      }
    })
    .transform((vars) => Object.fromEntries(Object.entries(vars)) as Record<string, string>)
    .meta({
      type: "object",
      propertyNames: { pattern: ENV_NAME.source },
      additionalProperties: { type: "string", maxLength: MAX_ENV_VALUE_BYTES },
      maxProperties: MAX_ENV_VARS,
    });

const timeoutField = (limits: UploadLimits) => {
  const range = `between ${limits.minTimeoutSeconds} and ${limits.maxTimeoutSeconds}`;
  return z
    .number({ error: expecting(`a whole number of seconds ${range}, e.g. 300`) })
    .int({ error: `must be a whole number of seconds ${range}, e.g. 300` })
    .min(limits.minTimeoutSeconds, { error: `must be at least ${limits.minTimeoutSeconds} seconds` })
    .max(limits.maxTimeoutSeconds, { error: `must be at most ${limits.maxTimeoutSeconds} seconds` });
};

function defaultTimeout(limits: UploadLimits): number {
  return Math.min(Math.max(DEFAULT_TIMEOUT_SECONDS, limits.minTimeoutSeconds), limits.maxTimeoutSeconds);
}

/** An accepted upload: the decoded script and every optional field filled with its default. */
export interface UploadRequest {
  script_name: string;
  /** The decoded script source. */
  script: string;
  /** Size of the script in bytes (UTF-8, as uploaded). */
  script_bytes: number;
  experiment_name: string;
  model_name: string;
  /** Checked PEP 508 requirements, trimmed; `[]` when none (or null) was sent. */
  requirements: string[];
  /** Variables for the script (never for the environment build); `{}` when none. */
  environment_vars: Record<string, string>;
  /** Seconds. */
  timeout: number;
  /** MLflow run tags; `{}` when none. */
  tags: Record<string, string>;
  /** What the job asked for, checked against the maxima; absent when it asked for nothing. */
  resources?: Partial<JobResources>;
}

/** Fields of the upload body; anything else is ignored and named in `warnings`. */
export const UPLOAD_FIELDS = [
  "script_name",
  "script_content",
  "experiment_name",
  "model_name",
  "requirements",
  "environment_vars",
  "timeout",
  "tags",
  "resources",
] as const;

/** The upload body's schema under given limits; it decodes the script and fills defaults. */
export function uploadRequestSchema(limits: UploadLimits = DEFAULT_UPLOAD_LIMITS) {
  const timeoutDefault = defaultTimeout(limits);
  return z
    .object({
      script_name: scriptNameField(),
      script_content: scriptContentField(limits.maxScriptBytes),
      experiment_name: experimentNameField(),
      model_name: modelNameField(),
      requirements: requirementsField()
        .nullish()
        .transform((v) => v ?? [])
        .meta({ description: 'PEP 508 requirements, e.g. ["scikit-learn", "pandas>=2", "numpy==2.1.*"]; null means none. Pip options, URLs and paths are refused.', examples: [["scikit-learn", "pandas"]] }),
      environment_vars: environmentVarsField()
        .nullish()
        .transform((v) => v ?? {})
        .meta({ description: "Variables given to the script (never to the environment build). Names match [A-Z_][A-Z0-9_]*; platform names (MLFLOW_*, PATH, HOME, PYTHON*, LD_*, PIP_*, UV_*, VIRTUAL_ENV, EXPERIMENT_NAME, MODEL_NAME, TRACEPARENT, TRACESTATE) are refused.", examples: [{ DATA_PATH: "/data" }] }),
      timeout: timeoutField(limits)
        .nullish()
        .transform((v) => v ?? timeoutDefault)
        .meta({ description: `Seconds the script may run, ${limits.minTimeoutSeconds}..${limits.maxTimeoutSeconds}; default ${timeoutDefault}.`, default: timeoutDefault }),
      tags: tagsField("run")
        .nullish()
        .transform((v) => v ?? {})
        .meta({ description: 'MLflow run tags. Keys follow MLflow\'s tag rules; "mlflow." and "asgard." keys are reserved.', examples: [{ version: "1.0" }] }),
      resources: resourcesField(limits.resourceMaxima).nullish(),
    })
    .transform(
      ({ script_content, ...rest }): UploadRequest => ({
        script_name: rest.script_name,
        script: script_content.script,
        script_bytes: script_content.script_bytes,
        experiment_name: rest.experiment_name,
        model_name: rest.model_name,
        requirements: rest.requirements,
        environment_vars: rest.environment_vars,
        timeout: rest.timeout,
        tags: rest.tags,
        ...resourcesAsked(rest.resources),
      }),
    );
}

/** `{ resources }` with only the fields sent, or nothing: an upload without them hashes as before they existed. */
function resourcesAsked(sent: Partial<JobResources> | null | undefined): { resources?: Partial<JobResources> } {
  const asked = Object.fromEntries(Object.entries(sent ?? {}).filter(([, v]) => v !== undefined)) as Partial<JobResources>;
  return Object.keys(asked).length > 0 ? { resources: asked } : {};
}

/** The upload body under the contract's limits (documentation and typing). */
export const UploadRequestSchema = uploadRequestSchema();
/** What a client sends to `POST /mlops/training/upload`. */
export type UploadRequestBody = z.input<typeof UploadRequestSchema>;

/** Result of `parseUploadRequest`. */
export type UploadParseResult = ParseResult<UploadRequest>;

/** Options of `parseUploadRequest`: the deployment's limits. */
export interface UploadParseOptions {
  /** Default 60. */
  minTimeoutSeconds?: number;
  /** Default 3600. */
  maxTimeoutSeconds?: number;
  /** Default 512 KiB. */
  maxScriptBytes?: number;
  /** Default {@link DEFAULT_RESOURCE_MAXIMA}. */
  resourceMaxima?: ResourceMaxima;
}

const schemaCache = new Map<string, ReturnType<typeof uploadRequestSchema>>();

/**
 * Validates an upload body. Every problem of every field is reported (field path and what
 * to send instead); a body that is not a JSON object is a 400, a script over the size limit
 * a 413, anything else a 422. Unknown fields are ignored and named in `warnings`.
 * Never throws.
 */
export function parseUploadRequest(body: unknown, opts: UploadParseOptions = {}): UploadParseResult {
  const limits: UploadLimits = {
    minTimeoutSeconds: opts.minTimeoutSeconds ?? DEFAULT_UPLOAD_LIMITS.minTimeoutSeconds,
    maxTimeoutSeconds: opts.maxTimeoutSeconds ?? DEFAULT_UPLOAD_LIMITS.maxTimeoutSeconds,
    maxScriptBytes: opts.maxScriptBytes ?? DEFAULT_UPLOAD_LIMITS.maxScriptBytes,
    resourceMaxima: opts.resourceMaxima ?? DEFAULT_UPLOAD_LIMITS.resourceMaxima,
  };
  const key = JSON.stringify(limits);
  let schema = schemaCache.get(key);
  if (!schema) {
    schema = uploadRequestSchema(limits);
    schemaCache.set(key, schema);
  }
  return parseLenient(schema, body, UPLOAD_FIELDS);
}

/**
 * Answer of `POST /mlops/training/upload` (202): the new job as the original described it
 * (`status: "queued"`, nulls for what is not known yet), our extension fields, and the
 * `warnings` about ignored fields.
 */
export const UploadResponseSchema = JobSchema.extend({
  warnings: z.array(z.string()).describe("Fields of the request that were ignored, e.g. \"unknown field `foo` was ignored\"."),
});
export type UploadResponse = z.infer<typeof UploadResponseSchema>;

/** Header that makes an upload idempotent: the same key returns the same job. */
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";
export const MAX_IDEMPOTENCY_KEY_CHARS = 255;

/** Schema of the `Idempotency-Key` header: 1..255 visible ASCII characters (a UUID fits). */
export const IdempotencyKeySchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/)
  .describe("Any 1..255 visible ASCII characters, e.g. a UUID. Repeating an upload with the same key returns the first job instead of a new one.");

/** Why an `Idempotency-Key` value is refused, or null. */
export function idempotencyKeyProblem(value: string): string | null {
  if (value.length === 0) return "must not be empty: send e.g. a UUID";
  if (value.length > MAX_IDEMPOTENCY_KEY_CHARS) return `must be at most ${MAX_IDEMPOTENCY_KEY_CHARS} characters long`;
  if (!/^[\x21-\x7e]+$/.test(value)) return "may only contain visible ASCII characters (no spaces), e.g. a UUID";
  return null;
}
