import { describe, expect, it } from "vitest";
import { filterLiteral, jobVersionFilter, runVersionFilter } from "./filters.js";

describe("MLflow filter literals", () => {
  it("quotes with the quote the value does not contain", () => {
    expect(filterLiteral("abc")).toBe("'abc'");
    expect(filterLiteral("it's")).toBe(`"it's"`);
    expect(filterLiteral(`say "hi"`)).toBe(`'say "hi"'`);
    expect(filterLiteral(`it's "both"`)).toBeNull();
  });

  it("builds the job tag and run filters", () => {
    expect(jobVersionFilter("0b7c")).toBe("tags.`asgard.job_id` = '0b7c'");
    expect(runVersionFilter("abc123")).toBe("run_id = 'abc123'");
    expect(jobVersionFilter(`'"`)).toBeNull();
  });
});
