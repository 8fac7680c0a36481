import { describe, expect, it } from "vitest";
import { CONFIG_CHECK_VARIABLE, configCheckRequested } from "./config-check.js";

describe("configCheckRequested", () => {
  it("is on for 1 and true, in any case and with spaces", () => {
    for (const value of ["1", "true", "TRUE", " True "]) {
      expect(configCheckRequested({ [CONFIG_CHECK_VARIABLE]: value })).toBe(true);
    }
  });

  it("is off when unset, empty or anything else", () => {
    expect(configCheckRequested({})).toBe(false);
    for (const value of ["", "0", "false", "yes"]) {
      expect(configCheckRequested({ [CONFIG_CHECK_VARIABLE]: value })).toBe(false);
    }
  });
});
