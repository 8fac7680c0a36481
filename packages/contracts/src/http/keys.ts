import { z } from "zod";
import { parseStrict, type ParseResult } from "./common.js";
import { DEFAULT_TENANT, TenantSchema } from "../tenant.js";

/**
 * What an API key may do. A route names the scopes that admit it (any one suffices);
 * `admin` admits every route, key management included.
 */
export const SCOPES = {
  "jobs:submit": "upload training scripts and cancel jobs",
  "jobs:read": "read jobs, their logs and scripts",
  "models:manage": "register model versions and move aliases (and read models)",
  predict: "ask registered models for predictions (and read models)",
  metrics: "read the gateway's /metrics (for a Prometheus scraper; nothing else)",
  admin: "everything, key management and /metrics included",
} as const;
export type Scope = keyof typeof SCOPES;
export const SCOPE_NAMES = Object.keys(SCOPES) as [Scope, ...Scope[]];
export const ScopeSchema = z.enum(SCOPE_NAMES);

/**
 * A route's access rule: `public` (no key ever), `any_key` (any valid key once keys exist),
 * or the scopes that admit it.
 */
export type RouteAccess = "public" | "any_key" | readonly Scope[];

const timestamp = () => z.iso.datetime();

/** The public id of a key: the part of the key shown in lists and used to revoke it. */
export const KeyIdSchema = z
  .string()
  .regex(/^[a-z2-7]{16}$/, "must be a key id: 16 characters of a–z and 2–7, as `asgard keys list` shows them")
  .describe("The key's public id (the part after `asg_` and before the next `_`).");

/**
 * A key as stored in the `asgard_api_keys` bucket, under its id. Only the SHA-256 of the
 * whole key is kept: the key itself is shown once, when it is made. Fields are only ever
 * added, as optional, so every gateway replica reads every record.
 */
export const ApiKeyRecordSchema = z.object({
  id: KeyIdSchema,
  name: z.string(),
  /** Keys stored before tenants existed belong to the default tenant. */
  tenant: TenantSchema.default(DEFAULT_TENANT),
  scopes: z.array(ScopeSchema).min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  created_at: timestamp(),
  expires_at: timestamp().nullable(),
  revoked_at: timestamp().nullable(),
  /** Added with per-key limits: absent in older records, which then use the gateway's limit. */
  rate_limit_per_minute: z.number().int().positive().optional(),
  /** Added with per-key limits: absent in older records, which are not exempt. */
  limits_exempt: z.boolean().optional(),
});
export type ApiKeyRecord = z.infer<typeof ApiKeyRecordSchema>;

/** Largest per-key request rate an admin may give a key. */
export const MAX_RATE_LIMIT_PER_MINUTE = 100_000_000;

export const KEY_NAME_MAX = 64;

/** `POST /mlops/keys`. */
export const CreateKeyRequestSchema = z.object({
  name: z
    .string({ error: "must be a string naming who or what uses the key, e.g. \"ci-pipeline\"" })
    .trim()
    .min(1, "must not be empty: name who or what uses the key")
    .max(KEY_NAME_MAX, `must be at most ${KEY_NAME_MAX} characters`)
    .describe("Who or what uses the key, for lists and audit."),
  scopes: z
    .array(ScopeSchema, { error: `must be a list of scopes: ${SCOPE_NAMES.join(", ")}` })
    .min(1, `must name at least one scope: ${SCOPE_NAMES.join(", ")}`)
    .transform((s) => [...new Set(s)])
    .describe("What the key may do."),
  tenant: TenantSchema.optional().describe("The tenant the key belongs to; the creating key's tenant when left out."),
  expires_in_days: z
    .number({ error: "must be a whole number of days (1..3650) or null for a key that never expires" })
    .int("must be a whole number of days")
    .min(1, "must be at least 1 day")
    .max(3650, "must be at most 3650 days")
    .nullable()
    .default(null)
    .describe("Days until the key stops working; null (the default) for never."),
  rate_limit_per_minute: z
    .number({ error: `must be a whole number of requests per minute (1..${MAX_RATE_LIMIT_PER_MINUTE}) or null for the gateway's limit` })
    .int("must be a whole number of requests per minute")
    .min(1, "must be at least 1 request per minute")
    .max(MAX_RATE_LIMIT_PER_MINUTE, `must be at most ${MAX_RATE_LIMIT_PER_MINUTE} requests per minute`)
    .nullable()
    .default(null)
    .describe("Requests per minute this key may make; null (the default) for the gateway's RATE_LIMIT_PER_MINUTE."),
  limits_exempt: z
    .boolean({ error: "must be true or false" })
    .default(false)
    .describe("Exempt the key from the per-key limits (request rate, concurrent log streams): for benchmark clients. Default false."),
});
export type CreateKeyRequest = z.output<typeof CreateKeyRequestSchema>;

export function parseCreateKeyRequest(body: unknown): ParseResult<CreateKeyRequest> {
  return parseStrict(CreateKeyRequestSchema, body, ["name", "scopes", "tenant", "expires_in_days", "rate_limit_per_minute", "limits_exempt"]);
}

/** A key as the API shows it: never its secret, never its hash. */
export const KeyInfoSchema = z.object({
  id: KeyIdSchema,
  name: z.string(),
  tenant: TenantSchema,
  scopes: z.array(ScopeSchema),
  created_at: timestamp(),
  expires_at: timestamp().nullable(),
  revoked_at: timestamp().nullable(),
  state: z.enum(["active", "expired", "revoked"]),
  rate_limit_per_minute: z.number().int().positive().nullable().describe("The key's own request rate; null: the gateway's."),
  limits_exempt: z.boolean().describe("Whether the per-key limits spare this key."),
});
export type KeyInfo = z.infer<typeof KeyInfoSchema>;

export const CreateKeyResponseSchema = KeyInfoSchema.extend({
  key: z.string().describe("The key itself. Shown this once: store it now, it cannot be read again."),
});
export type CreateKeyResponse = z.infer<typeof CreateKeyResponseSchema>;

export const KeyListSchema = z.array(KeyInfoSchema);

export const KeyParamsSchema = z.object({ key_id: KeyIdSchema });

export function parseKeyParams(params: unknown): ParseResult<z.infer<typeof KeyParamsSchema>> {
  return parseStrict(KeyParamsSchema, params, ["key_id"], { subject: "path" });
}

/** The state of a stored key at `now`. */
export function keyState(record: ApiKeyRecord, now = Date.now()): KeyInfo["state"] {
  if (record.revoked_at !== null) return "revoked";
  if (record.expires_at !== null && Date.parse(record.expires_at) <= now) return "expired";
  return "active";
}

export function keyInfo(record: ApiKeyRecord, now = Date.now()): KeyInfo {
  const { sha256: _hash, rate_limit_per_minute, limits_exempt, ...shown } = record;
  return { ...shown, state: keyState(record, now), rate_limit_per_minute: rate_limit_per_minute ?? null, limits_exempt: limits_exempt ?? false };
}
