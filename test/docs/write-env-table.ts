import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { renderEnvTable } from "./env-catalog.js";

// Regenerates the README's configuration table from the services' environment schemas.
const file = join(import.meta.dirname, "..", "..", "README.md");
const text = await readFile(file, "utf8");
const start = text.indexOf("<!-- env-table:start -->");
const end = text.indexOf("<!-- env-table:end -->");
if (start < 0 || end < 0) throw new Error("README.md has no env-table markers");
await writeFile(file, `${text.slice(0, start)}<!-- env-table:start -->\n${renderEnvTable()}\n${text.slice(end)}`);
