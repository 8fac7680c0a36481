import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ExperimentSchema,
  ModelVersionSchema,
  RunSchema,
  metricValueToJson,
  recordToTags,
  tagsToRecord,
  toMetricValue,
  toNumber,
} from "./types.js";

describe("toNumber", () => {
  it("accepts numbers and decimal strings, the two int64 forms MLflow sends", () => {
    expect(toNumber(1700000000000)).toBe(1700000000000);
    expect(toNumber("1700000000000")).toBe(1700000000000);
    expect(toNumber(" 42 ")).toBe(42);
    expect(toNumber("-3")).toBe(-3);
  });

  it("returns null for what is not a number", () => {
    expect(toNumber("")).toBeNull();
    expect(toNumber("12abc")).toBeNull();
    expect(toNumber("1e3")).toBeNull();
    expect(toNumber(null)).toBeNull();
    expect(toNumber(undefined)).toBeNull();
    expect(toNumber(Number.NaN)).toBeNull();
    expect(toNumber({})).toBeNull();
  });

  it("reads back any safe integer written as a string", () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(toNumber(String(n))).toBe(n);
        expect(toNumber(n)).toBe(n);
      }),
    );
  });
});

describe("metric values", () => {
  it("reads proto3 JSON's non-finite spellings", () => {
    expect(toMetricValue("NaN")).toBeNaN();
    expect(toMetricValue("Infinity")).toBe(Number.POSITIVE_INFINITY);
    expect(toMetricValue("-Infinity")).toBe(Number.NEGATIVE_INFINITY);
    expect(toMetricValue(0.25)).toBe(0.25);
    expect(toMetricValue("0.5")).toBe(0.5);
    expect(toMetricValue("nan")).toBeNull();
  });

  it("round-trips every double through the JSON form (JSON has no -0)", () => {
    fc.assert(
      fc.property(fc.double(), (v) => {
        const wire = JSON.parse(JSON.stringify(metricValueToJson(v))) as unknown;
        expect(Object.is(toMetricValue(wire), Object.is(v, -0) ? 0 : v)).toBe(true);
      }),
    );
  });
});

describe("response schemas", () => {
  it("normalises string and number timestamps and defaults absent fields", () => {
    const exp = ExperimentSchema.parse({
      experiment_id: "7",
      name: "e",
      creation_time: "1700000000000",
      last_update_time: 1700000000001,
    });
    expect(exp.creation_time).toBe(1700000000000);
    expect(exp.last_update_time).toBe(1700000000001);
    expect(exp.tags).toEqual([]);
    expect(exp.lifecycle_stage).toBe("active");
  });

  it("keeps fields a newer MLflow adds", () => {
    const exp = ExperimentSchema.parse({ experiment_id: "1", name: "e", workspace: "default" });
    expect(exp.workspace).toBe("default");
  });

  it("gives a running run a null end_time and empty data", () => {
    const run = RunSchema.parse({ info: { run_id: "r", experiment_id: "1", status: "RUNNING", start_time: "5" } });
    expect(run.info.end_time).toBeNull();
    expect(run.info.start_time).toBe(5);
    expect(run.data).toEqual({ metrics: [], params: [], tags: [] });
  });

  it("reads a NaN metric and string steps", () => {
    const run = RunSchema.parse({
      info: { run_id: "r", experiment_id: "1", status: "FINISHED" },
      data: { metrics: [{ key: "loss", value: "NaN", timestamp: "1", step: "3" }] },
    });
    expect(run.data.metrics[0]?.value).toBeNaN();
    expect(run.data.metrics[0]?.step).toBe(3);
  });

  it("rejects a timestamp that is not a number", () => {
    expect(ExperimentSchema.safeParse({ experiment_id: "1", name: "e", creation_time: "soon" }).success).toBe(false);
  });

  it("turns numeric versions into strings and defaults aliases", () => {
    const mv = ModelVersionSchema.parse({ name: "m", version: 3, status: "READY" });
    expect(mv.version).toBe("3");
    expect(mv.aliases).toEqual([]);
    expect(mv.model_id).toBe("");
  });
});

describe("tags", () => {
  it("converts between records and MLflow's key/value lists", () => {
    expect(recordToTags({ a: "1", b: "2" })).toEqual([
      { key: "a", value: "1" },
      { key: "b", value: "2" },
    ]);
    expect(recordToTags(undefined)).toEqual([]);
    expect(tagsToRecord([{ key: "a", value: "1" }, { key: "a", value: "2" }])).toEqual({ a: "2" });
  });
});
