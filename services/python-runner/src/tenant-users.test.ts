import { describe, expect, it } from "vitest";
import { tenantUser, type BasicCredentials } from "@asgard/mlflow";
import { tenantUsers } from "./tenant-users.js";

/** A stand-in for MLflow's user API that records calls and fails the first `failures` of them. */
function fakeMlflow(failures = 0) {
  const calls: Array<{ workspace: string; user: BasicCredentials }> = [];
  return {
    calls,
    async ensureTenantUser(workspace: string, user: BasicCredentials) {
      calls.push({ workspace, user });
      if (calls.length <= failures) throw new Error("MLflow unavailable");
    },
  };
}

describe("tenantUsers", () => {
  const secret = "s".repeat(32);

  it("makes each tenant's user ready once per process and hands out its derived credentials", async () => {
    const mlflow = fakeMlflow();
    const users = tenantUsers(mlflow, secret);
    const [first, second] = await Promise.all([users.ready("team-a"), users.ready("team-a")]);
    await users.ready("team-b");
    expect(first).toEqual(tenantUser("team-a", secret));
    expect(second).toEqual(first);
    expect(mlflow.calls.map((c) => c.workspace)).toEqual(["team-a", "team-b"]);
  });

  it("tries again after a failure instead of remembering it", async () => {
    const mlflow = fakeMlflow(1);
    const users = tenantUsers(mlflow, secret);
    await expect(users.ready("team-a")).rejects.toThrow("MLflow unavailable");
    await expect(users.ready("team-a")).resolves.toEqual(tenantUser("team-a", secret));
    expect(mlflow.calls).toHaveLength(2);
  });

  it("derives different passwords per tenant and per secret, the same on every replica", () => {
    expect(tenantUser("team-a", secret)).toEqual(tenantUser("team-a", secret));
    expect(tenantUser("team-a", secret).password).not.toBe(tenantUser("team-b", secret).password);
    expect(tenantUser("team-a", secret).password).not.toBe(tenantUser("team-a", "t".repeat(32)).password);
    expect(tenantUser("team-a", secret).username).toBe("asgard-tenant-team-a");
  });
});
