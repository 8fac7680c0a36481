import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * `npm run bench [name…]`: runs every `bench/src/<name>.bench.ts` (or the named ones) in
 * turn; each writes `bench/results/<name>.json`. Then the docs' benchmark tables are
 * generated again from the result files. `npm run bench -- --tables` only regenerates them.
 */
const root = process.cwd();
const dir = join(root, "bench", "src");
const args = process.argv.slice(2);
const tablesOnly = args.includes("--tables");
const wanted = args.filter((a) => a !== "--tables");
const all = (await readdir(dir)).filter((f) => f.endsWith(".bench.ts")).map((f) => f.replace(/\.bench\.ts$/, ""));
const chosen = tablesOnly ? [] : wanted.length > 0 ? wanted : all;
const unknown = chosen.filter((n) => !all.includes(n));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; available: ${all.join(", ")}`);
  process.exit(2);
}
let failed = false;
for (const name of chosen) {
  console.log(`\n== bench ${name}`);
  try {
    const mod = (await import(pathToFileURL(join(dir, `${name}.bench.ts`)).href)) as { run(): Promise<void> };
    await mod.run();
  } catch (err) {
    failed = true;
    console.error(`bench ${name} failed:`, err);
  }
}
const tables = (await import(pathToFileURL(join(dir, "tables.ts")).href)) as { writeTables(root: string): Promise<void> };
await tables.writeTables(root);
console.log("benchmark tables in README.md and docs/operations.md regenerated from bench/results");
process.exit(failed ? 1 : 0);
