import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { renderDependencyTable, ROOT, TABLE_END, TABLE_START } from "./package-graph.js";

// Regenerates the package table of docs/architecture.md from the package.json files.
const file = join(ROOT, "docs", "architecture.md");
const text = await readFile(file, "utf8");
const start = text.indexOf(TABLE_START);
const end = text.indexOf(TABLE_END);
if (start < 0 || end < 0) throw new Error("docs/architecture.md has no package-table markers");
await writeFile(file, `${text.slice(0, start)}${TABLE_START}\n${renderDependencyTable()}\n${text.slice(end)}`);
