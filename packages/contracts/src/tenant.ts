import { z } from "zod";

/**
 * A tenant is a team or project: every key belongs to one, and jobs, logs, scripts,
 * experiments, registered models and aliases belong to the tenant of the key that made them.
 * Each tenant is an MLflow workspace of the same name, so a tenant name follows MLflow's
 * workspace rule (a Kubernetes-style DNS label, 2–63 characters).
 */
export const DEFAULT_TENANT = "default";

/** Names MLflow reserves for its own routes; a workspace may not take them. */
const RESERVED_TENANTS = new Set(["workspaces", "api", "ajax-api", "static-files"]);

export const TenantSchema = z
  .string({ error: "must be a tenant name such as \"team-a\"" })
  .min(2, "must be 2 to 63 characters")
  .max(63, "must be 2 to 63 characters")
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be lowercase letters, digits and inner hyphens, e.g. \"team-a\"")
  .refine((name) => !RESERVED_TENANTS.has(name), { message: `is reserved; pick another name (reserved: ${[...RESERVED_TENANTS].join(", ")})` })
  .describe("The tenant (team or project); also the name of its MLflow workspace.");
export type Tenant = z.infer<typeof TenantSchema>;

/**
 * The tenant of an internal request or signal (gateway → registry, gateway → inference, one
 * replica → the others). Every sender names one — the types require it. A message from a
 * release before tenants carries none and means `default`, where everything made before
 * tenants lives: a missing tenant never means "every tenant".
 */
export const TenantFieldSchema = TenantSchema.default(DEFAULT_TENANT);

/**
 * Header with which an admin key acts in another tenant (submits there, sees its models).
 * Other keys act only in their own tenant.
 */
export const TENANT_HEADER = "x-asgard-tenant";

/** Who is calling, once the gateway has authenticated the request. */
export interface Caller {
  /** The tenant the request acts in. */
  tenant: Tenant;
  /** The id of the key that authenticated the request; null in local mode. */
  keyId: string | null;
  /** Admin keys (and local mode) see every tenant's jobs. */
  admin: boolean;
}

/** Local mode has no keys: everything happens in the default tenant, with admin's reach. */
export const LOCAL_CALLER: Caller = Object.freeze({ tenant: DEFAULT_TENANT, keyId: null, admin: true });
