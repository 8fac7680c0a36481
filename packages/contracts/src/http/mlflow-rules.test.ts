import { describe, expect, it } from "vitest";
import { aliasNameProblems, experimentNameProblems, modelNameProblems, pathNotUnique, pythonNormpath, runIdProblems, tagKeyProblems } from "./mlflow-rules.js";

// Expected values were produced by MLflow 3.17.2 itself (posixpath.normpath, path_not_unique,
// _validate_model_name, _validate_tag_name, _validate_model_alias_name + _reserved).
// Where we are stricter on purpose (control characters, "mlflow." tag keys) the row says so.
const MLFLOW_TABLE: [name: string, normpath: string, pathNotUnique: boolean, model: boolean, tag: boolean, alias: boolean][] = [
  ["", ".", true, false, false, false],
  [" ", " ", false, false, true, false],
  [".", ".", true, false, false, false],
  ["..", "..", true, false, false, false],
  ["...", "...", true, false, false, false],
  ["..a", "..a", true, false, false, false],
  ["a..", "a..", false, true, true, false],
  ["a..b", "a..b", false, true, true, false],
  ["a/b", "a/b", false, false, true, false],
  ["/a", "/a", true, false, false, false],
  ["a/", "a", true, false, false, false],
  ["//a", "//a", true, false, false, false],
  ["///a", "/a", true, false, false, false],
  ["a//b", "a/b", true, false, false, false],
  ["a/./b", "a/b", true, false, false, false],
  ["a/../b", "b", true, false, false, false],
  ["./a", "a", true, false, false, false],
  ["x:y", "x:y", false, false, true, false],
  ["my model", "my model", false, true, true, false],
  ["données", "données", false, true, true, true],
  ["模型", "模型", false, true, true, true],
  ["latest", "latest", false, true, true, false],
  ["LATEST", "LATEST", false, true, true, false],
  ["v1", "v1", false, true, true, false],
  ["V12", "V12", false, true, true, false],
  ["v1a", "v1a", false, true, true, true],
  ["champion", "champion", false, true, true, true],
  ["a-b_c", "a-b_c", false, true, true, true],
  ["a.b", "a.b", false, true, true, false],
  ["x!", "x!", false, true, false, false],
  ["é", "é", false, true, true, true],
  ["٣", "٣", false, true, true, true],
  ["v٣", "v٣", false, true, true, false],
  ["a%b", "a%b", false, true, false, false],
];

describe("MLflow naming rules, as MLflow 3.17 applies them", () => {
  it.each(MLFLOW_TABLE)("%j", (name, normpath, notUnique, model, tag, alias) => {
    expect(pythonNormpath(name)).toBe(normpath);
    expect(pathNotUnique(name)).toBe(notUnique);
    expect(modelNameProblems(name).length === 0).toBe(model);
    expect(tagKeyProblems(name, 250).length === 0).toBe(tag);
    expect(aliasNameProblems(name).length === 0).toBe(alias);
  });

  it("is stricter than MLflow on control characters (MLflow accepts 'a\\nb' as a model name)", () => {
    expect(modelNameProblems("a\nb")[0]).toMatch(/control characters/);
    expect(tagKeyProblems("abc\n", 250)).not.toHaveLength(0);
    expect(aliasNameProblems("abc\n")).not.toHaveLength(0);
  });

  it("reserves mlflow. and asgard. tag keys, which MLflow itself would accept from a client", () => {
    expect(tagKeyProblems("mlflow.user", 250)[0]).toMatch(/reserved by MLflow/);
    expect(tagKeyProblems("Asgard.job_id", 250)[0]).toMatch(/set by the platform/);
  });

  it("bounds lengths by MLflow's columns", () => {
    expect(modelNameProblems("m".repeat(256))).toEqual([]);
    expect(modelNameProblems("m".repeat(257))[0]).toMatch(/256/);
    expect(experimentNameProblems("e".repeat(256))).toEqual([]);
    expect(experimentNameProblems("e".repeat(257))[0]).toMatch(/256/);
    expect(aliasNameProblems("a".repeat(255))).toEqual([]);
    expect(aliasNameProblems("a".repeat(256))[0]).toMatch(/255/);
    expect(tagKeyProblems("k".repeat(251), 250)[0]).toMatch(/250/);
  });

  it("explains why an alias is reserved", () => {
    expect(aliasNameProblems("Latest")[0]).toMatch(/reserved/);
    expect(aliasNameProblems("v3")[0]).toMatch(/names a version/);
  });

  it.each([
    ["b1a279bbef814cafb8055e2b95d24f7c", true],
    ["run-1_a", true],
    ["", false],
    ["-abc", false],
    ["a b", false],
    ["a/b", false],
    ["r".repeat(257), false],
  ])("run id %j valid: %s", (runId, ok) => {
    expect(runIdProblems(runId).length === 0).toBe(ok);
  });
});
