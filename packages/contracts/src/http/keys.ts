import { z } from "zod";
import { parseStrict, type ParseResult } from "./common.js";

/**
 * What an API key may do. A route names the scopes that admit it (any one suffices);
 * `admin` admits every route, key management included.
 */
export const SCOPES = {
  "jobs:submit": "upload training scripts and cancel jobs",
  "jobs:read": "read jobs, their logs and scripts",
  "models:manage": "register model versions and move aliases (and read models)",
  predict: "ask registered models for predictions (and read models)",
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
  scopes: z.array(ScopeSchema).min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  created_at: timestamp(),
  expires_at: timestamp().nullable(),
  revoked_at: timestamp().nullable(),
});
export type ApiKeyRecord = z.infer<typeof ApiKeyRecordSchema>;

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
  expires_in_days: z
    .number({ error: "must be a whole number of days (1..3650) or null for a key that never expires" })
    .int("must be a whole number of days")
    .min(1, "must be at least 1 day")
    .max(3650, "must be at most 3650 days")
    .nullable()
    .default(null)
    .describe("Days until the key stops working; null (the default) for never."),
});
export type CreateKeyRequest = z.output<typeof CreateKeyRequestSchema>;

export function parseCreateKeyRequest(body: unknown): ParseResult<CreateKeyRequest> {
  return parseStrict(CreateKeyRequestSchema, body, ["name", "scopes", "expires_in_days"]);
}

/** A key as the API shows it: never its secret, never its hash. */
export const KeyInfoSchema = z.object({
  id: KeyIdSchema,
  name: z.string(),
  scopes: z.array(ScopeSchema),
  created_at: timestamp(),
  expires_at: timestamp().nullable(),
  revoked_at: timestamp().nullable(),
  state: z.enum(["active", "expired", "revoked"]),
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
  const { sha256: _hash, ...shown } = record;
  return { ...shown, state: keyState(record, now) };
}
