import { cp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, relative, sep } from "node:path";
import { build, type Plugin } from "esbuild";
import { type ServiceName } from "./services.js";

/** One service's production bundle: a directory that runs with `node main.mjs` and nothing else. */
export interface ServiceBundle {
  service: ServiceName;
  /** The bundle's directory (`<outDir>/<service>`). */
  dir: string;
  /** `<dir>/main.mjs`. */
  entry: string;
  /** Size of main.mjs in bytes. */
  bytes: number;
}

export interface BundleOptions {
  /** The repository root (holds `services/`). */
  root: string;
  /** Bundles are written to `<outDir>/<service>`; an existing one is replaced. */
  outDir: string;
}

/**
 * Files that a bundled dependency loads from beside its own code at run time. esbuild
 * inlines the code but not these, so they are copied next to `main.mjs`:
 * - PGlite (the embedded job database) loads its WebAssembly and data files through
 *   `new URL("./pglite.wasm", import.meta.url)`, which resolves beside the bundle.
 */
const SIDE_FILES: Partial<Record<ServiceName, Array<{ pkg: string; dir: string; files: string[] }>>> = {
  "job-scheduler": [{ pkg: "@electric-sql/pglite", dir: "dist", files: ["pglite.wasm", "pglite.data", "initdb.wasm"] }],
  // The sandbox's init (the in-namespace MLflow forwarder) and its seccomp filter compiler.
  "python-runner": [{ pkg: "@asgard/sandbox", dir: "dist", files: ["sandbox-python/sandbox_init.py", "sandbox-python/seccomp_filter.py"] }],
};

/**
 * Packages that read their own files through `__dirname` (swagger-ui's page and scripts
 * for `/docs`). A bundle has one `__dirname` for every module, so inside these packages it
 * is rewritten to the module's own folder under `assets/<package>/…`, where the package is
 * copied.
 */
const DIRNAME_PACKAGES = ["@fastify/swagger-ui"];

/**
 * Folders beside its build that a service reads at run time through `new URL("./…", import.meta.url)`:
 * the Python helpers the runner puts on a job's path and inference's model worker. In a
 * bundle `import.meta.url` is main.mjs, so they are copied beside it.
 */
const SERVICE_ASSETS: Partial<Record<ServiceName, string[]>> = {
  "python-runner": ["python"],
  inference: ["python"],
};

// ESM output has no require/__dirname; CommonJS dependencies (fastify, pino, pg, …) use them.
const BANNER = [
  'import { createRequire as __asgardCreateRequire } from "node:module";',
  'import { fileURLToPath as __asgardFileURLToPath } from "node:url";',
  'import { dirname as __asgardDirname, join as __asgardJoin } from "node:path";',
  "const require = __asgardCreateRequire(import.meta.url);",
  "const __filename = __asgardFileURLToPath(import.meta.url);",
  "const __dirname = __asgardDirname(__filename);",
  "const __asgardAssetDir = (p) => __asgardJoin(__dirname, \"assets\", p);",
].join("\n");

/**
 * Bundles one service into `<outDir>/<service>` from its build (`dist/`, with the workspace
 * packages' builds it imports): the image runs what `build` compiled and type-checked.
 */
export async function bundleService(service: ServiceName, options: BundleOptions): Promise<ServiceBundle> {
  const serviceDir = join(options.root, "services", service);
  const dir = join(options.outDir, service);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const entry = join(dir, "main.mjs");
  const copied = new Map<string, string>();
  const result = await build({
    entryPoints: [join(serviceDir, "dist", "main.js")],
    absWorkingDir: serviceDir,
    outfile: entry,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: "linked",
    metafile: true,
    logLevel: "silent",
    banner: { js: BANNER },
    plugins: [dirnamePlugin(copied)],
  });
  if (result.errors.length > 0) throw new Error(`${service}: bundle failed: ${result.errors.map((e) => e.text).join("; ")}`);

  for (const [pkg, pkgRoot] of copied) {
    await cp(pkgRoot, join(dir, "assets", pkg), {
      recursive: true,
      filter: (src) => !relative(pkgRoot, src).split(sep).includes("node_modules"),
    });
  }
  for (const side of SIDE_FILES[service] ?? []) {
    const from = join(await packageRoot(side.pkg, [serviceDir, ...(await workspacePackages(options.root))]), side.dir);
    for (const file of side.files) {
      await mkdir(dirname(join(dir, file)), { recursive: true });
      await cp(join(from, file), join(dir, file));
    }
  }
  for (const asset of SERVICE_ASSETS[service] ?? []) {
    await cp(join(serviceDir, "dist", asset), join(dir, asset), { recursive: true });
  }
  await writeFile(join(dir, "package.json"), `${JSON.stringify({ name: `asgard-${service}`, private: true, type: "module" }, null, 2)}\n`);
  const bytes = (await readFile(entry)).byteLength;
  return { service, dir, entry, bytes };
}

/** Bundles each named service in turn. */
export async function bundleServices(services: readonly ServiceName[], options: BundleOptions): Promise<ServiceBundle[]> {
  const bundles: ServiceBundle[] = [];
  for (const service of services) bundles.push(await bundleService(service, options));
  return bundles;
}

async function workspacePackages(root: string): Promise<string[]> {
  return (await readdir(join(root, "packages"), { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => join(root, "packages", e.name));
}

/**
 * The folder of an installed package. A dependency below the service (PGlite under
 * @asgard/db) is not resolvable from the service itself in pnpm's strict layout, so each
 * of `from` is tried in turn; the entry point found is walked up to its package.json.
 */
async function packageRoot(pkg: string, from: string[]): Promise<string> {
  for (const base of from) {
    let entry: string;
    try {
      entry = createRequire(join(base, "package.json")).resolve(pkg);
    } catch {
      continue;
    }
    for (let d = dirname(entry); d !== dirname(d); d = dirname(d)) {
      try {
        const manifest = JSON.parse(await readFile(join(d, "package.json"), "utf8")) as { name?: string };
        if (manifest.name === pkg) return d;
      } catch {
        // no package.json at this level: keep walking up
      }
    }
  }
  throw new Error(`package ${pkg} is not installed (run pnpm install)`);
}

function dirnamePlugin(copied: Map<string, string>): Plugin {
  const escaped = DIRNAME_PACKAGES.map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|");
  return {
    name: "asgard-dirname-assets",
    setup(b) {
      b.onLoad({ filter: new RegExp(`node_modules[\\\\/](${escaped})[\\\\/].*\\.c?js$`) }, async (args) => {
        const pkg = DIRNAME_PACKAGES.find((p) => args.path.includes(`${sep}${p.split("/").join(sep)}${sep}`));
        if (!pkg) return undefined;
        const marker = `${sep}node_modules${sep}${pkg.split("/").join(sep)}${sep}`;
        const at = args.path.lastIndexOf(marker);
        const pkgRoot = args.path.slice(0, at + marker.length - 1);
        copied.set(pkg, pkgRoot);
        const within = relative(pkgRoot, dirname(args.path)).split(sep).join("/");
        const assetPath = within ? `${pkg}/${within}` : pkg;
        const source = await readFile(args.path, "utf8");
        return {
          contents: source.replace(/\b__dirname\b/g, `__asgardAssetDir(${JSON.stringify(assetPath)})`),
          loader: "js",
          resolveDir: dirname(args.path),
        };
      });
    },
  };
}
