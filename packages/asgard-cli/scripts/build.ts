// Bundles the CLI into one file with commander and the workspace modules it uses inside (no
// server code), lays out an installable package in dist/package, and with --pack packs it with npm:
//   tsx scripts/build.ts [--pack] [--out DIR]
// The tarball's path is the last line printed.
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { pack: { type: "boolean" }, out: { type: "string" } } });
const dist = resolve(values.out ?? join(root, "dist"));
const dir = join(dist, "package");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name: string; version: string; description: string };

rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
await build({
  entryPoints: [join(root, "src/main.ts")],
  outfile: join(dir, "asgard.mjs"),
  bundle: true,
  platform: "node",
  target: "node20.18",
  format: "esm",
  // The workspace modules the CLI imports are bundled from their sources (no build of theirs needed).
  conditions: ["@asgard/source"],
  // commander is CommonJS: its require() calls of Node built-ins need a real require in an ES module.
  banner: { js: '#!/usr/bin/env node\nimport { createRequire as __asgardRequire } from "node:module";\nconst require = __asgardRequire(import.meta.url);' },
  define: { ASGARD_CLI_VERSION: JSON.stringify(pkg.version) },
  logLevel: "warning",
});
chmodSync(join(dir, "asgard.mjs"), 0o755);
copyFileSync(join(root, "README.md"), join(dir, "README.md"));
// Everything is in the bundle: the published manifest has no dependencies at all.
const manifest = {
  name: pkg.name,
  version: pkg.version,
  description: pkg.description,
  type: "module",
  bin: { asgard: "asgard.mjs" },
  files: ["asgard.mjs", "README.md"],
  engines: { node: ">=20.18" },
};
writeFileSync(join(dir, "package.json"), JSON.stringify(manifest, null, 2) + "\n");

if (values.pack) {
  const name = execFileSync("npm", ["pack", "--silent", "--pack-destination", dist], { cwd: dir, encoding: "utf8" }).trim().split("\n").pop()!;
  console.log(join(dist, name));
} else {
  console.log(dir);
}
