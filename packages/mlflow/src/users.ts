import { createHmac } from "node:crypto";
import { z } from "zod";
import { MlflowConflictError, MlflowError } from "./errors.js";
import type { CallOptions, Transport } from "./transport.js";

/** Username and password of an MLflow basic-auth user (`--app-name basic-auth`). */
export interface BasicCredentials {
  username: string;
  password: string;
}

/**
 * The role every tenant user holds in its own workspace. A workspace `USE` grant admits the
 * user and lets it create; the wildcard `EDIT` grants let it write experiments and registered
 * models made by others in that workspace (the runner makes each job's experiment and run as
 * admin). It cannot delete them, and it has nothing anywhere else.
 */
export const TENANT_ROLE = "asgard-tenant";
const TENANT_GRANTS = [
  { resource_type: "workspace", permission: "USE" },
  { resource_type: "experiment", permission: "EDIT" },
  { resource_type: "registered_model", permission: "EDIT" },
] as const;

export interface UsersApi {
  /**
   * Makes `user` exist with exactly `password` and hold {@link TENANT_ROLE} in `workspace`.
   * Idempotent and safe when several runners call it at once: every step treats "already
   * exists" as done. Needs admin credentials and a server running the basic-auth app.
   */
  ensureTenantUser(workspace: string, user: BasicCredentials, o?: CallOptions): Promise<void>;
}

const Empty = z.looseObject({});
const RoleAnswer = z.looseObject({ role: z.looseObject({ id: z.number() }) });
const RoleList = z.looseObject({ roles: z.array(z.looseObject({ id: z.number(), name: z.string() })).default([]) });

/**
 * The MLflow user of a tenant: its password is an HMAC of the tenant's name under the
 * platform's secret, so every runner replica derives the same one with no shared store and
 * no round trip, and rotating the secret rotates every tenant's password (the next
 * {@link UsersApi.ensureTenantUser} sets the new one).
 */
export function tenantUser(tenant: string, platformSecret: string): BasicCredentials {
  const password = createHmac("sha256", platformSecret).update(`mlflow-tenant-user\0${tenant}`).digest("base64url");
  return { username: `asgard-tenant-${tenant}`, password };
}

export function basicAuthorization(c: BasicCredentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
}

export function usersApi(t: Transport): UsersApi {
  /** Runs a create call; "already exists" counts as success (another runner got there first). */
  async function create(fn: () => Promise<unknown>): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (err) {
      if (err instanceof MlflowConflictError) return false;
      throw err;
    }
  }

  async function ensurePassword(user: BasicCredentials, o?: CallOptions): Promise<void> {
    const created = await create(() =>
      t.call({ method: "POST", path: "/api/2.0/mlflow/users/create", json: user }, Empty, o),
    );
    if (created) return;
    // The user was made earlier, perhaps under a platform secret since rotated: check the
    // password with a request of its own and set it when it no longer matches.
    const probe = await t
      .withHeaders({ authorization: basicAuthorization(user) })
      .send({ method: "GET", path: "/api/2.0/mlflow/users/current" }, o);
    if (probe.status === 200) return;
    await t.call({ method: "PATCH", path: "/api/2.0/mlflow/users/update-password", json: user }, Empty, o);
  }

  async function roleId(workspace: string, o?: CallOptions): Promise<number> {
    try {
      const made = await t.call(
        { method: "POST", path: "/api/3.0/mlflow/roles/create", json: { name: TENANT_ROLE, workspace } },
        RoleAnswer,
        o,
      );
      return made.role.id;
    } catch (err) {
      if (!(err instanceof MlflowConflictError)) throw err;
    }
    const { roles } = await t.call({ method: "GET", path: "/api/3.0/mlflow/roles/list", query: { workspace } }, RoleList, o);
    const role = roles.find((r) => r.name === TENANT_ROLE);
    if (role === undefined) throw new MlflowError("INTERNAL", `MLflow reported role ${TENANT_ROLE} of workspace ${workspace} as existing but does not list it`);
    return role.id;
  }

  return {
    async ensureTenantUser(workspace, user, o) {
      await ensurePassword(user, o);
      const role_id = await roleId(workspace, o);
      for (const grant of TENANT_GRANTS) {
        await create(() =>
          t.call(
            { method: "POST", path: "/api/3.0/mlflow/roles/permissions/add", json: { role_id, resource_pattern: "*", ...grant } },
            Empty,
            o,
          ),
        );
      }
      await create(() =>
        t.call({ method: "POST", path: "/api/3.0/mlflow/roles/assign", json: { username: user.username, role_id } }, Empty, o),
      );
    },
  };
}
