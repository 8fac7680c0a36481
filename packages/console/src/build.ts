import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { ASSETS_PREFIX, CONSOLE_DIR } from "./index.js";

const WEB_DIR = fileURLToPath(new URL("../web/", import.meta.url));

/**
 * Bundles the console (Preact, uPlot, the contracts' upload rules) into `CONSOLE_DIR`:
 * `index.html` plus content-hashed JS and CSS under `assets/`, no external requests.
 * Writes into a fresh folder first and moves files into place one by one, so test files
 * that build it at the same time never see a half-written file.
 */
export async function buildConsole(outDir: string = CONSOLE_DIR): Promise<void> {
  await mkdir(join(outDir, ".."), { recursive: true });
  const staging = await mkdtemp(join(outDir, "..", ".www-"));
  try {
    const result = await build({
      entryPoints: { app: join(WEB_DIR, "main.tsx") },
      bundle: true,
      format: "esm",
      platform: "browser",
      target: ["es2022"],
      minify: true,
      sourcemap: false,
      // The contracts are bundled from their sources: no build of theirs needed first.
      conditions: ["@asgard/source"],
      jsx: "automatic",
      jsxImportSource: "preact",
      entryNames: "[name]-[hash]",
      outdir: join(staging, "assets"),
      metafile: true,
      legalComments: "none",
      plugins: [englishZodOnly],
      inject: [join(WEB_DIR, "buffer-shim.ts")],
      logLevel: "warning",
    });
    const outputs = Object.keys(result.metafile.outputs).map((p) => p.slice(p.lastIndexOf("/") + 1));
    const js = outputs.find((f) => f.endsWith(".js"));
    const css = outputs.find((f) => f.endsWith(".css"));
    if (!js || !css) throw new Error(`the console's bundle lacks its ${js ? "CSS" : "JS"} file`);
    await writeFile(join(staging, "index.html"), indexHtml(`${ASSETS_PREFIX}${js}`, `${ASSETS_PREFIX}${css}`));
    await mkdir(join(outDir, "assets"), { recursive: true });
    const fresh = await readdir(join(staging, "assets"));
    for (const file of fresh) await rename(join(staging, "assets", file), join(outDir, "assets", file));
    await rename(join(staging, "index.html"), join(outDir, "index.html"));
    // Files of earlier builds; a build running beside this one makes the same names.
    for (const file of await readdir(join(outDir, "assets"))) if (!fresh.includes(file)) await rm(join(outDir, "assets", file), { force: true });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * zod re-exports every locale as a namespace (`z.locales`), which defeats tree-shaking and
 * would make them four fifths of the bundle; the console shows the contracts' own English
 * messages, so only the default locale is kept.
 */
const englishZodOnly: Plugin = {
  name: "english-zod-only",
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes("/zod/") ? { path: join(args.resolveDir, "..", "locales", "en.js"), namespace: "zod-locales" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "zod-locales" }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: args.path.slice(0, args.path.lastIndexOf("/")),
    }));
  },
};

function indexHtml(script: string, stylesheet: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Asgard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${stylesheet}">
<script type="module" src="${script}"></script>
</head>
<body>
<noscript>The Asgard console needs JavaScript; the API is documented at <a href="/docs">/docs</a>.</noscript>
<div id="app"></div>
</body>
</html>
`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildConsole();
}
