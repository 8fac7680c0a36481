#!/usr/bin/env node
// Entry point of `npm start`, `npm test`, `npm run bench` and `npm run bundle` on a fresh
// clone. It may use nothing but Node itself: it installs the workspace with the pnpm version
// pinned in the root package.json (through corepack, verified by its sha512), then hands over
// to the command of the same name — built first and run with plain node where it runs the
// platform (`start`, `bundle`), from its TypeScript sources through tsx otherwise.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const command = process.argv[2];
const commands = {
  start: { built: "packages/cli/dist/start.js" },
  bundle: { built: "packages/cli/dist/bundle.js" },
  test: { source: "packages/cli/src/test.ts" },
  bench: { source: "packages/cli/src/bench.ts" },
  keys: { source: "packages/cli/src/keys.ts" },
  lint: { source: "packages/cli/src/lint-command.ts" },
  "nats-secrets": { source: "packages/cli/src/nats-secrets.ts" },
  "check:fresh": { source: "packages/pyenv/src/commands/check-fresh.ts" },
  "constraints:update": { source: "packages/pyenv/src/commands/constraints-update.ts" },
};
/**
 * Node flags that run a TypeScript entry point with every workspace package read from its sources
 * (the same as @asgard/test-support's FROM_SOURCES, which this file cannot import).
 */
const FROM_SOURCES = ["--conditions=@asgard/source", "--import", "tsx"];

if (!(command in commands)) {
  console.error(`usage: node packages/cli/bootstrap.mjs <${Object.keys(commands).join("|")}> [args]`);
  process.exit(2);
}

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 18)) {
  console.error(`Asgard needs Node.js 20.18 or newer; this is ${process.versions.node}.`);
  process.exit(2);
}

const env = { ...process.env, COREPACK_ENABLE_DOWNLOAD_PROMPT: "0" };
const install = spawnSync("corepack", ["pnpm", "install", "--frozen-lockfile", "--prefer-offline", "--reporter=silent"], {
  cwd: root,
  env,
  stdio: "inherit",
});
if (install.error || install.status !== 0) {
  console.error(
    install.error?.code === "ENOENT"
      ? "corepack was not found: it ships with Node.js (enable it with `corepack enable` or reinstall Node 20)."
      : "Installing the workspace failed (see above).",
  );
  process.exit(install.status || 1);
}

const entry = commands[command];
if (entry.built) build();
const commandLine = entry.built
  ? [process.execPath, "--enable-source-maps", join(root, entry.built), ...process.argv.slice(3)]
  : [process.execPath, ...FROM_SOURCES, join(root, entry.source), ...process.argv.slice(3)];
// The kernel sends the command SIGTERM the moment we die, however we die (SIGKILL included):
// util-linux's setpriv sets PR_SET_PDEATHSIG before it execs. Without it, the watch below.
const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p));
const [program, ...args] = setpriv ? [setpriv, "--pdeathsig", "TERM", "--", ...commandLine] : commandLine;
const child = spawn(program, args, { cwd: root, env, stdio: "inherit" });
// Ctrl-C reaches the child through the terminal's process group; SIGTERM from a
// supervisor does not, so pass it on and let the child stop everything it started.
for (const signal of ["SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
process.on("SIGINT", () => {});
// `npm start` runs us through `sh -c`; a SIGTERM to npm kills that shell without passing it on.
// Being re-parented means whoever started us is gone: stop as if told to.
const parent = process.ppid;
const watch = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(watch);
  child.kill("SIGTERM");
}, 1_000);
watch.unref();
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + 1 : 1)));

/**
 * Builds the launcher and the services into their `dist/` folders with turbo, which replays
 * from its cache whatever did not change: after the first build this takes a few seconds.
 * turbo runs each package's script through pnpm, looked up on PATH; corepack puts its pnpm
 * (the version pinned in package.json) in a folder of the clone for that.
 */
function build() {
  process.stdout.write("Building Asgard (only what changed since the last build)…\n");
  const shims = join(root, "node_modules", ".cache", "asgard", "bin");
  mkdirSync(shims, { recursive: true });
  const shim = spawnSync("corepack", ["enable", "--install-directory", shims, "pnpm"], { cwd: root, env, encoding: "utf8" });
  const turbo = shim.status === 0
    ? spawnSync(
        join(root, "node_modules", ".bin", "turbo"),
        ["run", "build", "--filter=@asgard/cli", "--filter=./services/*", "--output-logs=errors-only"],
        { cwd: root, env: { ...env, PATH: `${shims}${delimiter}${env.PATH ?? ""}`, TURBO_TELEMETRY_DISABLED: "1" }, encoding: "utf8" },
      )
    : shim;
  if (turbo.error || turbo.status !== 0) {
    process.stderr.write(`${turbo.stdout ?? ""}${turbo.stderr ?? ""}${turbo.error ? `${turbo.error.message}\n` : ""}`);
    console.error("Building Asgard failed (see above).");
    process.exit(turbo.status || 1);
  }
}
