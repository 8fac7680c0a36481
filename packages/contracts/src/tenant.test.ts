import { describe, expect, it } from "vitest";
import { registryWatcherKey } from "./catalog.js";
import { InvokeRequestSchema, PredictRequestSchema } from "./inference-internal.js";
import { ListModelsRequestSchema, ModelRefSchema, RegisterModelRequestSchema } from "./registry-internal.js";

describe("tenants in internal requests", () => {
  it("reads a request from a release before tenants as the default tenant's, and keeps a named one", () => {
    expect(ModelRefSchema.parse({ model_name: "churn" })).toEqual({ tenant: "default", model_name: "churn" });
    expect(ModelRefSchema.parse({ tenant: "team-a", model_name: "churn" }).tenant).toBe("team-a");
    expect(ListModelsRequestSchema.parse({ max_results: null, page_token: null }).tenant).toBe("default");
    expect(RegisterModelRequestSchema.parse({ model_name: "churn", run_id: "r", description: null, tags: {} }).tenant).toBe("default");
    const predict = { model_name: "churn", model_ref: { kind: "latest" }, inputs: { x: [1] }, return_probabilities: false };
    expect(PredictRequestSchema.parse(predict).tenant).toBe("default");
    expect(InvokeRequestSchema.parse({ model_name: "churn", model_ref: { kind: "latest" }, format: "inputs", data: [1], params: null }).tenant).toBe("default");
  });

  it("refuses a tenant that is no tenant name", () => {
    for (const tenant of ["", "Team A", "api", "-x", null]) {
      expect(ModelRefSchema.safeParse({ tenant, model_name: "churn" }).success, String(tenant)).toBe(false);
    }
  });

  it("keeps the default tenant's watcher key of the release before tenants", () => {
    expect(registryWatcherKey("default")).toBe("watcher");
    expect(registryWatcherKey("team-a")).toBe("watcher.team-a");
  });
});
