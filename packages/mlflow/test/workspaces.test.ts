import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { MlflowNotFoundError } from "../src/index.js";
import { rejectionOf, testClient } from "./helpers.js";

const client = testClient();
afterAll(() => client.close());

const workspaceName = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

describe("workspaces (tenants)", () => {
  it("creates a workspace once, however often it is ensured, and lists it beside default", async () => {
    const name = workspaceName("ws");
    await client.ensureWorkspace(name);
    await client.ensureWorkspace(name);
    const names = (await client.listWorkspaces()).map((w) => w.name);
    expect(names).toContain("default");
    expect(names.filter((n) => n === name)).toHaveLength(1);
  });

  it("keeps the same model name apart in two workspaces, and leaves the default workspace out of both", async () => {
    const [a, b] = [workspaceName("team-a"), workspaceName("team-b")];
    await client.ensureWorkspace(a);
    await client.ensureWorkspace(b);
    const inA = client.inWorkspace(a);
    const inB = client.inWorkspace(b);
    await inA.createRegisteredModel("churn", { description: "a's" });
    await inB.createRegisteredModel("churn", { description: "b's" });
    expect((await inA.getRegisteredModel("churn")).description).toBe("a's");
    expect((await inB.getRegisteredModel("churn")).description).toBe("b's");
    expect(await client.findRegisteredModel("churn")).toBeNull();
    await inA.close(); // a workspace client leaves the shared pool open
    expect((await inB.getRegisteredModel("churn")).description).toBe("b's");
  });

  it("reaches the default workspace by naming none, and a default-workspace client leaves the pool open", async () => {
    const name = workspaceName("legacy");
    await client.createRegisteredModel(name, { description: "made before tenants" });
    const inDefault = client.inWorkspace("default");
    expect((await inDefault.getRegisteredModel(name)).description).toBe("made before tenants");
    const other = workspaceName("team-c");
    await client.ensureWorkspace(other);
    expect(await client.inWorkspace(other).inWorkspace("default").findRegisteredModel(name)).not.toBeNull();
    expect(await client.inWorkspace(other).findRegisteredModel(name)).toBeNull();
    await inDefault.close();
    expect((await client.getRegisteredModel(name)).name).toBe(name);
  });

  it("answers a call in a workspace that does not exist as not found", async () => {
    const err = await rejectionOf(client.inWorkspace(workspaceName("none")).getRegisteredModel("churn"));
    expect(err).toBeInstanceOf(MlflowNotFoundError);
  });
});
