import { tenantUser, type BasicCredentials, type MlflowClient } from "@asgard/mlflow";

/**
 * The MLflow users jobs act as, on a server with basic auth: one per tenant, confined by
 * MLflow to the tenant's workspace. The runner calls MLflow as admin; a job never does.
 */
export interface TenantUsers {
  /** The tenant's user, made ready in MLflow (created, password current, role granted) first. */
  ready(tenant: string): Promise<BasicCredentials>;
}

/**
 * Tenant users whose passwords derive from `platformSecret` (see `tenantUser`). Each tenant's
 * user is made ready once per runner process; a failure is forgotten so the next job tries
 * again. Every step is idempotent, so replicas racing on a new tenant all succeed.
 */
export function tenantUsers(mlflow: Pick<MlflowClient, "ensureTenantUser">, platformSecret: string): TenantUsers {
  const readied = new Map<string, Promise<BasicCredentials>>();
  return {
    ready(tenant) {
      let ready = readied.get(tenant);
      if (ready === undefined) {
        const user = tenantUser(tenant, platformSecret);
        ready = mlflow.ensureTenantUser(tenant, user).then(() => user);
        ready.catch(() => readied.delete(tenant));
        readied.set(tenant, ready);
      }
      return ready;
    },
  };
}
