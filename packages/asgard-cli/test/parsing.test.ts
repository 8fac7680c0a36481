import { describe, expect, it } from "vitest";
import { csvToInputs } from "../src/csv.js";
import { UsageError } from "../src/errors.js";
import { keyValues, requirementLines } from "../src/files.js";
import { parseModelRef } from "../src/model-ref.js";

describe("model references", () => {
  it("reads NAME, NAME@alias and NAME:version as the API's model_name and model_version", () => {
    expect(parseModelRef("churn")).toEqual({ model_name: "churn", model_version: null });
    expect(parseModelRef("churn@champion")).toEqual({ model_name: "churn", model_version: "@champion" });
    expect(parseModelRef("churn:3")).toEqual({ model_name: "churn", model_version: "3" });
    expect(parseModelRef("churn:latest")).toEqual({ model_name: "churn", model_version: null });
    // A colon that is no version suffix belongs to the name.
    expect(parseModelRef("team:churn")).toEqual({ model_name: "team:churn", model_version: null });
  });

  it("refuses a reference without a name or alias, saying how to write one", () => {
    expect(() => parseModelRef("@champion")).toThrow(UsageError);
    expect(() => parseModelRef("churn@")).toThrow(/NAME@alias/);
  });
});

describe("CSV inputs", () => {
  it("maps the header to columns and types the cells", () => {
    expect(csvToInputs("age,income,city,member,note\n42,5200.5,Oslo,true,\n37,-1e3,\"Bergen, west\",false,\"\"\n")).toEqual({
      age: [42, 37],
      income: [5200.5, -1000],
      city: ["Oslo", "Bergen, west"],
      member: [true, false],
      note: [null, ""],
    });
  });

  it("keeps quoted numbers as text, handles CRLF, a BOM and doubled quotes", () => {
    expect(csvToInputs('\uFEFFid,label\r\n"007","say ""hi"""\r\n')).toEqual({ id: ["007"], label: ['say "hi"'] });
  });

  it("names what is wrong with a malformed file", () => {
    expect(() => csvToInputs("a,b\n1\n")).toThrow(/row 2 has 1 values but the header names 2 columns/);
    expect(() => csvToInputs("a,a\n1,2\n")).toThrow(/twice/);
    expect(() => csvToInputs("a,b\n")).toThrow(/at least one row/);
    expect(() => csvToInputs('a\n"open\n')).toThrow(/quote/);
  });
});

describe("train's inputs", () => {
  it("reads package lines of a requirements file, dropping comments and blanks", () => {
    expect(requirementLines("# deps\nscikit-learn>=1.5  # the model\n\n  pandas\r\n")).toEqual(["scikit-learn>=1.5", "pandas"]);
  });

  it("reads --env NAME=VALUE pairs; a value may hold '='", () => {
    expect(keyValues(["EPOCHS=10", "QUERY=a=b", "EMPTY="], "--env")).toEqual({ EPOCHS: "10", QUERY: "a=b", EMPTY: "" });
    expect(() => keyValues(["EPOCHS"], "--env")).toThrow(/--env takes NAME=VALUE/);
  });
});
