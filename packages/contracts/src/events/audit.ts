import { z } from "zod";
import { KeyIdSchema, ScopeSchema } from "../http/keys.js";
import { TenantSchema } from "../tenant.js";
import { envelope } from "./envelope.js";

/**
 * Who changed what, one event per change made through the API: the gateway publishes it
 * after the change succeeded, and writes the same fields as one log line
 * (`{"audit": "<action>", "tenant", "key_id", "target"}`). Never a key, never a value of a
 * job's `environment_vars`.
 */
function auditSchema<A extends string, T extends z.ZodRawShape>(action: A, target: T) {
  return z.object({
    ...envelope,
    action: z.literal(action).describe("What happened; also the last tokens of the subject (`audit.<action>`)."),
    key_id: KeyIdSchema.nullable().describe(
      "The public id of the API key that made the change (never the key itself); null when no key was involved: local mode (a client on the gateway's machine, no keys configured) or the deployment's bootstrap secret.",
    ),
    target: z.object(target).describe("What the change was made to."),
  });
}

export const AuditJobSubmittedSchema = auditSchema("job.submitted", {
  job_id: z.string(),
  experiment_name: z.string(),
  model_name: z.string(),
  replayed: z.boolean().describe("True when an Idempotency-Key returned an earlier job instead of making one."),
});

export const AuditJobCancelledSchema = auditSchema("job.cancelled", {
  job_id: z.string(),
});

export const AuditVersionRegisteredSchema = auditSchema("model.version_registered", {
  model_name: z.string(),
  version: z.string(),
  run_id: z.string(),
});

export const AuditAliasSetSchema = auditSchema("model.alias_set", {
  model_name: z.string(),
  alias: z.string(),
  version: z.string(),
});

export const AuditAliasDeletedSchema = auditSchema("model.alias_deleted", {
  model_name: z.string(),
  alias: z.string(),
});

const keyTarget = {
  id: KeyIdSchema,
  name: z.string(),
  tenant: TenantSchema,
  scopes: z.array(ScopeSchema),
  rate_limit_per_minute: z.number().int().positive().nullable(),
  limits_exempt: z.boolean(),
};

export const AuditKeyCreatedSchema = auditSchema("api_key.created", keyTarget);

export const AuditKeyRevokedSchema = auditSchema("api_key.revoked", {
  id: KeyIdSchema,
});
