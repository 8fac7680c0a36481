import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startAuthMlflow, type AuthMlflow } from "@asgard/test-support";
import { basicAuthorization, createMlflowClient, tenantUser, WORKSPACE_HEADER, type MlflowClient } from "../src/index.js";

/** MLflow's basic-auth app keeps each tenant's user inside its own workspace (keyed mode). */
describe("tenant users on an MLflow server with basic auth", () => {
  let server: AuthMlflow;
  let admin: MlflowClient;
  const opened: MlflowClient[] = [];
  const a = `team-a-${randomUUID().slice(0, 8)}`;
  const b = `team-b-${randomUUID().slice(0, 8)}`;

  /** A client acting as `tenant`'s user, scoped to `workspace` (default: the tenant's own). */
  const asTenant = (tenant: string, workspace = tenant, secret = server.tenantSecret) => {
    const client = createMlflowClient({ baseUrl: server.url, auth: tenantUser(tenant, secret) });
    opened.push(client);
    return client.inWorkspace(workspace);
  };

  beforeAll(async () => {
    server = await startAuthMlflow(inject("infra"));
    admin = createMlflowClient({ baseUrl: server.url, auth: server.admin });
    for (const tenant of [a, b]) await admin.ensureWorkspace(tenant);
  });

  afterAll(async () => {
    for (const c of opened) await c.close();
    await admin?.close();
    await server?.stop();
  });

  it("refuses a call without credentials or with wrong ones", async () => {
    const anonymous = createMlflowClient({ baseUrl: server.url });
    opened.push(anonymous);
    await expect(anonymous.searchExperiments({})).rejects.toMatchObject({ httpStatus: 401 });
    const wrong = createMlflowClient({ baseUrl: server.url, auth: { username: server.admin.username, password: "not-it" } });
    opened.push(wrong);
    await expect(wrong.searchExperiments({})).rejects.toMatchObject({ httpStatus: 401 });
  });

  it("makes a tenant's user ready idempotently, also when several runners do it at once", async () => {
    await Promise.all([1, 2, 3].map(() => admin.ensureTenantUser(a, tenantUser(a, server.tenantSecret))));
    await admin.ensureTenantUser(a, tenantUser(a, server.tenantSecret));
    await admin.ensureTenantUser(b, tenantUser(b, server.tenantSecret));
    const id = await asTenant(a).createExperiment("made-by-a");
    expect((await asTenant(a).getExperiment(id)).name).toBe("made-by-a");
  });

  it("lets a tenant write what the platform made in its workspace but not delete it, and nothing of another tenant", async () => {
    await admin.ensureTenantUser(a, tenantUser(a, server.tenantSecret));
    await admin.ensureTenantUser(b, tenantUser(b, server.tenantSecret));
    const ofA = await admin.inWorkspace(a).createExperiment("runner-made");
    const ofB = await admin.inWorkspace(b).createExperiment("b-private");

    const run = await asTenant(a).createRun({ experimentId: ofA });
    await asTenant(a).logBatch(run.info.run_id, { metrics: [{ key: "acc", value: 0.9, timestamp: Date.now(), step: 0 }] });
    await expect(asTenant(a).deleteExperiment(ofA)).rejects.toMatchObject({ httpStatus: 403 });
    const deleteRun = await fetch(`${server.url}/api/2.0/mlflow/runs/delete`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: basicAuthorization(tenantUser(a, server.tenantSecret)), [WORKSPACE_HEADER]: a },
      body: JSON.stringify({ run_id: run.info.run_id }),
    });
    expect(deleteRun.status).toBe(403);

    // Naming b's workspace does not help: MLflow, not only the sandbox's proxy, says no.
    await expect(asTenant(a, b).getExperiment(ofB)).rejects.toMatchObject({ httpStatus: 403 });
    await expect(asTenant(a, b).deleteExperiment(ofB)).rejects.toMatchObject({ httpStatus: 403 });
    await expect(asTenant(a, b).createExperiment("planted")).rejects.toMatchObject({ httpStatus: 403 });
    await expect(asTenant(a, "default").createExperiment("planted")).rejects.toMatchObject({ httpStatus: 403 });
    expect((await admin.inWorkspace(b).getExperiment(ofB)).lifecycle_stage).toBe("active");
  });

  it("gives the default tenant's user the default workspace, where jobs of local keys run", async () => {
    await admin.ensureTenantUser("default", tenantUser("default", server.tenantSecret));
    const id = await asTenant("default").createExperiment(`default-${randomUUID().slice(0, 8)}`);
    expect((await asTenant("default").getExperiment(id)).experiment_id).toBe(id);
    await expect(asTenant("default", a).createExperiment("planted")).rejects.toMatchObject({ httpStatus: 403 });
  });

  it("sets the new password when the platform secret was rotated", async () => {
    const rotated = `rotated-${randomUUID()}`;
    await admin.ensureTenantUser(b, tenantUser(b, server.tenantSecret));
    await admin.ensureTenantUser(b, tenantUser(b, rotated));
    expect(await asTenant(b, b, rotated).createExperiment("after-rotation")).toMatch(/^\d+$/);
    await expect(asTenant(b).createExperiment("old-secret")).rejects.toMatchObject({ httpStatus: 401 });
  });
});
