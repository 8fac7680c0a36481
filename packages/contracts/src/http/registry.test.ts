import { describe, expect, it } from "vitest";
import {
  AliasResponseSchema,
  ModelInfoSchema,
  ModelListSchema,
  parseAliasParams,
  parseModelListQuery,
  parseRegisterRequest,
  parseSetAliasRequest,
  RegisterResponseSchema,
} from "./registry.js";
import { expectAccepted, expectRefused } from "./test-helpers.js";

const valid = () => ({ model_name: "my-model", run_id: "d486629ed9ac4a83a6d5dcb8091383a7" });

describe("parseRegisterRequest", () => {
  it("accepts the original's request, with description and tags optional", () => {
    expect(expectAccepted(parseRegisterRequest(valid())).value).toEqual({ ...valid(), description: null, tags: {} });
    const full = { ...valid(), description: "first", tags: { stage: "candidate" } };
    expect(expectAccepted(parseRegisterRequest(full)).value).toEqual(full);
  });

  it("accepts null description and tags", () => {
    expect(expectAccepted(parseRegisterRequest({ ...valid(), description: null, tags: null })).value).toMatchObject({ description: null, tags: {} });
  });

  it("ignores unknown fields with a warning", () => {
    const { value, warnings } = expectAccepted(parseRegisterRequest({ ...valid(), stage: "Production" }));
    expect(warnings).toEqual(["unknown field `stage` was ignored"]);
    expect(value).not.toHaveProperty("stage");
  });

  it("answers 400 for a body that is not an object", () => {
    const result = parseRegisterRequest("model");
    expect(result.ok ? 0 : result.status).toBe(400);
  });

  it.each([
    ["model_name", undefined],
    ["model_name", "a/b"],
    ["model_name", ""],
    ["run_id", undefined],
    ["run_id", ""],
    ["run_id", "not a run"],
    ["run_id", 42],
    ["description", 5],
    ["description", "d".repeat(5001)],
    ["tags", ["a"]],
  ])("refuses %s = %j", (field, value) => {
    const body: Record<string, unknown> = { ...valid(), [field]: value };
    if (value === undefined) delete body[field];
    expectRefused(parseRegisterRequest(body), 422, field);
  });

  it("checks tag keys and values by MLflow's model-version tag rules", () => {
    expectRefused(parseRegisterRequest({ ...valid(), tags: { "mlflow.source": "x" } }), 422, "tags.mlflow.source");
    expectRefused(parseRegisterRequest({ ...valid(), tags: { k: 1 } }), 422, "tags.k");
    expectAccepted(parseRegisterRequest({ ...valid(), tags: { k: "v".repeat(100_000) } }));
    expectRefused(parseRegisterRequest({ ...valid(), tags: { k: "v".repeat(100_001) } }), 422, "tags.k");
  });
});

describe("model list query", () => {
  it("returns every model without parameters", () => {
    expect(expectAccepted(parseModelListQuery({})).value).toEqual({ max_results: undefined, page_token: undefined });
  });

  it("reads opt-in paging", () => {
    expect(expectAccepted(parseModelListQuery({ max_results: "10", page_token: "abc" })).value).toEqual({ max_results: 10, page_token: "abc" });
  });

  it.each(["0", "1001", "ten", "1.5", "-1"])("refuses max_results=%j", (v) => {
    expectRefused(parseModelListQuery({ max_results: v }), 422, "max_results");
  });

  it("ignores unknown parameters with a warning (compatible surface)", () => {
    expect(expectAccepted(parseModelListQuery({ filter: "x" })).warnings).toEqual(["unknown field `filter` was ignored"]);
  });
});

describe("aliases", () => {
  it("accepts MLflow alias names in the path", () => {
    expect(expectAccepted(parseAliasParams({ model_name: "m", alias: "champion" })).value).toEqual({ model_name: "m", alias: "champion" });
  });

  it.each(["latest", "v3", "bad alias", "", "a.b"])("refuses the alias %j", (alias) => {
    expectRefused(parseAliasParams({ model_name: "m", alias }), 422, "alias");
  });

  it("reads the version as a string or a number", () => {
    expect(expectAccepted(parseSetAliasRequest({ version: 3 })).value).toEqual({ version: "3" });
    expect(expectAccepted(parseSetAliasRequest({ version: "12" })).value).toEqual({ version: "12" });
  });

  it.each([{}, { version: "latest" }, { version: "@champion" }, { version: 0 }, { version: 1.5 }, { version: null }])("refuses %j", (body) => {
    expectRefused(parseSetAliasRequest(body), 422, "version");
  });

  it("refuses unknown fields (extension route)", () => {
    const [message] = expectRefused(parseSetAliasRequest({ version: "1", force: true }), 422, "force");
    expect(message).toMatch(/not a known field/);
  });
});

describe("registry response shapes", () => {
  const version = {
    name: "m",
    version: "1",
    stage: "None",
    run_id: "d486629ed9ac4a83a6d5dcb8091383a7",
    description: null,
    tags: {},
    created_at: "2025-10-31T10:00:00.000Z",
    updated_at: "2025-10-31T10:00:00.000Z",
    aliases: ["champion"],
    status: "READY",
    source: "models:/m-abc",
  };

  it("describes ModelInfo with the original's fields and the aliases", () => {
    const model = { name: "m", description: null, tags: {}, latest_versions: [version], created_at: version.created_at, updated_at: version.updated_at, aliases: { champion: "1" } };
    expect(ModelInfoSchema.parse(model)).toEqual(model);
    expect(ModelListSchema.parse([])).toEqual([]);
  });

  it("describes the register and alias answers", () => {
    const registered = { model_name: "m", version: "1", run_id: version.run_id, status: "registered", created_at: version.created_at, source: "models:/m-abc", warnings: [] };
    expect(RegisterResponseSchema.parse(registered)).toEqual(registered);
    expect(RegisterResponseSchema.safeParse({ ...registered, status: "READY" }).success).toBe(false);
    expect(AliasResponseSchema.parse({ model_name: "m", alias: "champion", version: "2", previous_version: "1" })).toBeTruthy();
  });
});
