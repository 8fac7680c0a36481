import { describe, expect, it } from "vitest";
import { assertWorkspaceName, forwardedHeaders, refusalFor } from "./mlflow-proxy.js";

describe("refusalFor", () => {
  const ws = "team-a";

  it("forwards the tracking, registry and artifact APIs", () => {
    for (const url of [
      "/api/2.0/mlflow/runs/create",
      "/api/2.0/mlflow/experiments/get-by-name?experiment_name=x%2Fy",
      "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model.pkl",
      "/ajax-api/2.0/mlflow/runs/search",
      "/health",
    ]) {
      expect(refusalFor("POST", url, ws)).toBeNull();
    }
  });

  it("refuses every write to the workspace API and every read but the own workspace's", () => {
    for (const [method, url] of [
      ["POST", "/api/3.0/mlflow/workspaces"],
      ["PATCH", "/api/3.0/mlflow/workspaces/team-a"],
      ["DELETE", "/api/3.0/mlflow/workspaces/team-b"],
      ["DELETE", "/ajax-api/3.0/mlflow/workspaces/team-b"],
      ["DELETE", "/API/3.0/MLFLOW/WORKSPACES/team-b"],
      ["DELETE", "/api/3.0/mlflow/%77orkspaces/team-b"],
      ["GET", "/api/3.0/mlflow/workspaces"],
      ["GET", "/api/3.0/mlflow/workspaces?x=1"],
      ["GET", "/api/3.0/mlflow/workspaces/team-b"],
    ] as const) {
      expect(refusalFor(method, url, ws)).toMatchObject({ status: 403, errorCode: "PERMISSION_DENIED" });
    }
    expect(refusalFor("GET", "/api/3.0/mlflow/workspaces/team-a", ws)).toBeNull();
  });

  it("refuses the basic-auth app's account, role and permission APIs: a job never changes its own user", () => {
    for (const [method, url] of [
      ["PATCH", "/api/2.0/mlflow/users/update-password"],
      ["PATCH", "/ajax-api/2.0/mlflow/users/update-admin"],
      ["POST", "/api/2.0/mlflow/users/create"],
      ["GET", "/api/2.0/mlflow/users/get?username=asgard-tenant-team-a"],
      ["POST", "/api/3.0/mlflow/roles/assign"],
      ["POST", "/api/2.0/mlflow/experiments/permissions/create"],
      ["PATCH", "/api/2.0/mlflow/registered-models/permissions/update"],
      ["GET", "/signup"],
      ["POST", "/API/2.0/MLFLOW/USERS/UPDATE-PASSWORD"],
    ] as const) {
      expect(refusalFor(method, url, ws), url).toMatchObject({ status: 403, errorCode: "PERMISSION_DENIED" });
    }
  });

  it("refuses paths MLflow could route differently from what was checked", () => {
    for (const url of [
      "/api/3.0/mlflow/experiments/../workspaces/team-b",
      "/api/3.0/mlflow/%2e%2e/mlflow/workspaces",
      "/api/3.0/mlflow//workspaces",
      "/api/3.0/mlflow%2fworkspaces",
      "/api/3.0/%E0%A4%A",
      "http://elsewhere/api/2.0/mlflow/runs/get",
      "*",
    ]) {
      expect(refusalFor("DELETE", url, ws)).toMatchObject({ status: 400, errorCode: "BAD_REQUEST" });
    }
  });
});

describe("forwardedHeaders", () => {
  it("sets the sandbox's workspace whatever the script sent, in any spelling", () => {
    const out = forwardedHeaders(
      {
        "x-mlflow-workspace": "team-b",
        x_mlflow_workspace: "team-b",
        "content-type": "application/json",
        authorization: "Basic abc",
      },
      "team-a",
    );
    expect(out).toEqual({ "x-mlflow-workspace": "team-a", "content-type": "application/json", authorization: "Basic abc" });
  });

  it("with the tenant's credentials, sends them in place of whatever Authorization the script sent", () => {
    const out = forwardedHeaders({ authorization: "Basic c3RvbGVuOmFkbWlu", "x-mlflow-workspace": "team-b" }, "team-a", "Basic dGVuYW50");
    expect(out).toEqual({ "x-mlflow-workspace": "team-a", authorization: "Basic dGVuYW50" });
  });

  it("drops hop-by-hop headers, those the Connection header names, host and forwarding claims", () => {
    const out = forwardedHeaders(
      {
        host: "127.0.0.1:5000",
        connection: "keep-alive, x-secret-hop",
        "x-secret-hop": "1",
        "keep-alive": "timeout=5",
        "transfer-encoding": "chunked",
        expect: "100-continue",
        "x-forwarded-for": "10.0.0.1",
        forwarded: "for=10.0.0.1",
        "content-length": "12",
      },
      "default",
    );
    expect(out).toEqual({ "content-length": "12", "x-mlflow-workspace": "default" });
  });
});

describe("assertWorkspaceName", () => {
  it("accepts MLflow's names and refuses anything a header could be abused with", () => {
    for (const ok of ["default", "team-a", "t1", "a".repeat(63)]) expect(() => assertWorkspaceName(ok)).not.toThrow();
    for (const bad of ["", "a", "Team", "-a", "a-", "a b", "a\r\nx: y", "a".repeat(64)]) {
      expect(() => assertWorkspaceName(bad)).toThrow(TypeError);
    }
  });
});
