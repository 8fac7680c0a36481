import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ENV_SCHEMAS, renderEnvTable } from "./env-catalog.js";

const readme = () => readFile(join(import.meta.dirname, "..", "..", "README.md"), "utf8");

describe("README", () => {
  it("shows the two commands", async () => {
    const text = await readme();
    expect(text).toContain("npm start");
    expect(text).toContain("npm test");
  });

  it("documents every configuration variable of every process, as the schemas describe them", async () => {
    const text = await readme();
    const start = text.indexOf("<!-- env-table:start -->");
    const end = text.indexOf("<!-- env-table:end -->");
    expect(start).toBeGreaterThan(0);
    expect(text.slice(start + "<!-- env-table:start -->".length, end).trim()).toBe(renderEnvTable());
    for (const schema of Object.values(ENV_SCHEMAS)) {
      for (const name of Object.keys(schema.shape)) expect(text).toContain(`\`${name}\``);
    }
  });
});
