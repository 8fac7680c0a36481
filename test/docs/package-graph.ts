import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

/** The workspace's libraries and services, read from their package.json files. */
export interface WorkspacePackage {
  name: string;
  dir: string;
  kind: "library" | "service";
  /** `@asgard/*` runtime dependencies. */
  uses: string[];
}

export const ROOT = join(import.meta.dirname, "..", "..");

export function workspacePackages(): WorkspacePackage[] {
  return (["packages", "services"] as const).flatMap((top) =>
    readdirSync(join(ROOT, top))
      .filter((d) => statSync(join(ROOT, top, d)).isDirectory())
      .map((d) => {
        const pkg = JSON.parse(readFileSync(join(ROOT, top, d, "package.json"), "utf8")) as { name: string; dependencies?: Record<string, string> };
        const uses = Object.keys(pkg.dependencies ?? {}).filter((n) => n.startsWith("@asgard/")).sort();
        return { name: pkg.name, dir: `${top}/${d}`, kind: top === "services" ? ("service" as const) : ("library" as const), uses };
      }),
  );
}

/** The package dependency table of docs/architecture.md. */
export function renderDependencyTable(packages = workspacePackages()): string {
  const rows = [...packages]
    .sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === "library" ? -1 : 1))
    .map((p) => `| \`${p.name}\` | ${p.kind} | \`${p.dir}\` | ${p.uses.length > 0 ? p.uses.map((u) => `\`${u}\``).join(", ") : "—"} |`);
  return ["| package | kind | folder | may import (runtime) |", "|---|---|---|---|", ...rows].join("\n");
}

/** Every `@asgard/*` package a source file (tests excluded) imports, with the file. */
export function sourceImports(pkg: WorkspacePackage): { file: string; imported: string }[] {
  const out: { file: string; imported: string }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.ts$/.test(entry.name) && !/\.(test|d)\.ts$/.test(entry.name)) {
        const text = readFileSync(path, "utf8");
        for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"(@asgard\/[a-z-]+)/g)) {
          out.push({ file: relative(ROOT, path), imported: m[1] as string });
        }
      }
    }
  };
  walk(join(ROOT, pkg.dir, "src"));
  return out;
}

export const TABLE_START = "<!-- package-table:start -->";
export const TABLE_END = "<!-- package-table:end -->";
