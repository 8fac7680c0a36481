import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderDependencyTable, ROOT, sourceImports, TABLE_END, TABLE_START, workspacePackages } from "./package-graph.js";

const packages = workspacePackages();
const services = new Set(packages.filter((p) => p.kind === "service").map((p) => p.name));

describe("the package map (docs/architecture.md)", () => {
  it("shows the dependency table the package.json files declare (npx tsx test/docs/write-package-table.ts rewrites it)", async () => {
    const text = await readFile(join(ROOT, "docs", "architecture.md"), "utf8");
    const start = text.indexOf(TABLE_START);
    const end = text.indexOf(TABLE_END);
    expect(start).toBeGreaterThan(0);
    expect(text.slice(start + TABLE_START.length, end).trim()).toBe(renderDependencyTable(packages));
  });

  it("services import packages, never each other, and libraries never import a service", () => {
    const offending = packages.flatMap((p) => p.uses.filter((u) => services.has(u)).map((u) => `${p.name} depends on the service ${u}`));
    expect(offending).toEqual([]);
  });

  it("every @asgard import in a package's sources is one of its declared runtime dependencies", () => {
    const undeclared = packages.flatMap((p) =>
      sourceImports(p)
        .filter(({ imported }) => imported !== p.name && !p.uses.includes(imported))
        .map(({ file, imported }) => `${file} imports ${imported}, which ${p.name} does not list in dependencies`),
    );
    expect(undeclared).toEqual([]);
  });
});
